package auth

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestRoles(t *testing.T) {
	all := []Perm{PermRead, PermAlarmAct, PermDeviceWrite, PermAdmin}
	// API.md's table, row by row.
	for _, tc := range []struct {
		role Role
		can  []Perm
	}{
		{RoleAdmin, []Perm{PermRead, PermAlarmAct, PermDeviceWrite, PermAdmin}},
		{RoleOperator, []Perm{PermRead, PermAlarmAct}},
		{RoleInstaller, []Perm{PermRead, PermDeviceWrite}},
		{RoleFire, []Perm{PermRead}},
		{RoleViewer, []Perm{PermRead}},
		{Role("root"), nil},
	} {
		for _, p := range all {
			if got, want := tc.role.Can(p), slices.Contains(tc.can, p); got != want {
				t.Errorf("%q.Can(%q) = %v, want %v", tc.role, p, got, want)
			}
		}
		if got := tc.role.Perms(); !slices.Equal(got, tc.can) {
			t.Errorf("%q.Perms() = %v, want %v", tc.role, got, tc.can)
		}
		if tc.role.Can("") {
			t.Errorf("%q can do the empty permission", tc.role)
		}
	}
	// Perms is a copy: changing it changes no role.
	RoleViewer.Perms()[0] = PermAdmin
	if RoleViewer.Can(PermAdmin) {
		t.Error("changing what Perms returned gave viewers admin")
	}
}

func TestParseRole(t *testing.T) {
	for _, s := range []string{"admin", "operator", "installer", "fire", "viewer"} {
		if r, err := ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "Admin", "root", " viewer"} {
		_, err := ParseRole(s)
		if err == nil || !strings.Contains(err.Error(), "admin, operator, installer, fire, viewer") {
			t.Errorf("ParseRole(%q) = %v, want an error listing the roles", s, err)
		}
	}
}

func TestWho(t *testing.T) {
	ctx := context.Background()
	if _, ok := From(ctx); ok {
		t.Error("From found a Who in an empty context")
	}
	want := Who{User: "wang", Role: RoleOperator}
	if got, ok := From(WithWho(ctx, want)); !ok || got != want {
		t.Errorf("From(WithWho(%v)) = %v, %v", want, got, ok)
	}
}
