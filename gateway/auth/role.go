package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Role is what a console user is: it decides what they may do.
type Role string

// The roles, as API.md's table gives them.
const (
	RoleAdmin     Role = "admin"
	RoleOperator  Role = "operator"  // the police duty room
	RoleInstaller Role = "installer" // sets devices up
	RoleFire      Role = "fire"      // the fire team
	RoleViewer    Role = "viewer"
)

// Perm is one thing a role may do; the console's `can` list names them.
type Perm string

// The permissions.
const (
	PermRead        Perm = "read"         // read everything
	PermAlarmAct    Perm = "alarm.act"    // act on alarms
	PermDeviceWrite Perm = "device.write" // the installer's writes
	PermAdmin       Perm = "admin"        // manage users, read the audit journal
)

// rolePerms is the table in API.md, each list in the order `can` shows it.
var rolePerms = map[Role][]Perm{
	RoleAdmin:     {PermRead, PermAlarmAct, PermDeviceWrite, PermAdmin},
	RoleOperator:  {PermRead, PermAlarmAct},
	RoleInstaller: {PermRead, PermDeviceWrite},
	RoleFire:      {PermRead},
	RoleViewer:    {PermRead},
}

// roleNames lists the roles for error messages, most powerful first.
var roleNames = []string{string(RoleAdmin), string(RoleOperator), string(RoleInstaller), string(RoleFire), string(RoleViewer)}

// ParseRole returns the role named s; the error lists the valid ones.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if _, ok := rolePerms[r]; !ok {
		return "", fmt.Errorf("role %q is not known (valid: %s)", s, strings.Join(roleNames, ", "))
	}
	return r, nil
}

// Can says whether the role has permission p. An unknown role can do
// nothing.
func (r Role) Can(p Perm) bool { return slices.Contains(rolePerms[r], p) }

// Perms lists what the role may do (a copy the caller may keep).
func (r Role) Perms() []Perm { return slices.Clone(rolePerms[r]) }

// Who is the user a request comes from.
type Who struct {
	User string
	Role Role
}

type whoKey struct{}

// WithWho returns ctx carrying w; Guard puts the caller there.
func WithWho(ctx context.Context, w Who) context.Context {
	return context.WithValue(ctx, whoKey{}, w)
}

// From returns the user Guard found for the request whose context is
// ctx; ok is false outside Guard.
func From(ctx context.Context) (Who, bool) {
	w, ok := ctx.Value(whoKey{}).(Who)
	return w, ok
}
