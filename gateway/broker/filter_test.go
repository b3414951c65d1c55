package broker

import "testing"

func TestPatternTopics(t *testing.T) {
	const user, client = "dev-7", "cid-7"
	for _, tc := range []struct {
		pattern, topic string
		want           bool
	}{
		{"community/+/building/+/+/%u/#", "community/sun/building/3/12/dev-7/gas", true},
		{"community/+/building/+/+/%u/#", "community/sun/building/3/12/dev-7", true}, // # matches the parent level too
		{"community/+/building/+/+/%u/#", "community/sun/building/3/12/dev-8/gas", false},
		{"community/+/building/+/+/%u/#", "community/sun/building/3/dev-7/gas", false},
		{"a/%c", "a/cid-7", true},
		{"a/%c", "a/dev-7", false},
		{"a/%u", "a/dev-7/x", false},
		{"#", "anything/at/all", true},
		{"#", "$SYS/broker/uptime", false}, // wildcards at the top level skip $ topics
		{"+/broker/uptime", "$SYS/broker/uptime", false},
		{"$SYS/#", "$SYS/broker/uptime", true},
		{"a/+", "a/", true}, // an empty level is a level
		{"a/+", "a", false},
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
	} {
		if got := allows(compile(tc.pattern), tc.topic, false, user, client); got != tc.want {
			t.Errorf("%q allows publishing to %q: %v, want %v", tc.pattern, tc.topic, got, tc.want)
		}
	}
}

func TestPatternFilters(t *testing.T) {
	const user, client = "dev-7", "cid-7"
	for _, tc := range []struct {
		pattern, filter string
		want            bool
	}{
		{"commands/%u/#", "commands/dev-7/#", true},
		{"commands/%u/#", "commands/dev-7/reset", true},
		{"commands/%u/#", "commands/dev-7/+", true},
		{"commands/%u/#", "commands/+/reset", false}, // + covers other users
		{"commands/%u/#", "commands/#", false},
		{"commands/%u/#", "commands/dev-8/#", false},
		{"a/+/c", "a/+/c", true},
		{"a/+/c", "a/b/c", true},
		{"a/+/c", "a/#", false},
		{"a/+/c", "a/+/+", false},
		{"a/#", "a/#", true},
		{"a/#", "a", true},
		{"a/#", "a/+/+/#", true},
		{"a/b", "a/+", false},
		{"#", "#", true},
		{"#", "+/x", true},
		{"#", "$SYS/#", false},
		{"+/#", "$SYS/x", false},
		{"$SYS/#", "$SYS/broker/#", true},
		{"a/%c/#", "$share/group/a/cid-7/x", true}, // a shared subscription is checked as its filter
		{"a/%c/#", "$share/group/a/other/x", false},
		{"a/%c/#", "$share/group", false},
	} {
		if got := allows(compile(tc.pattern), tc.filter, true, user, client); got != tc.want {
			t.Errorf("%q allows subscribing to %q: %v, want %v", tc.pattern, tc.filter, got, tc.want)
		}
	}
}

// A client id or username holding a wildcard or a slash stays one literal
// level: it cannot widen a %c or %u pattern.
func TestPatternSubstitutionIsLiteral(t *testing.T) {
	p := compile("dev/%c/#")
	for _, client := range []string{"+", "#", "a/b"} {
		for _, f := range []string{"dev/+/#", "dev/#", "dev/a/b/x"} {
			if allows(p, f, true, "u", client) {
				t.Errorf("client id %q may subscribe to %q", client, f)
			}
		}
	}
	if !allows(p, "dev/+x/y", false, "u", "+x") {
		t.Error("a literal client id does not match itself")
	}
}

// allows applies p to a topic name or a subscription filter as permits
// does.
func allows(p pattern, topic string, filter bool, user, client string) bool {
	f, ok := segments(nil, topic, filter)
	return ok && p.covers(f, []byte(user), client)
}

// TestPermitsAllocatesNothing: the ACL check runs on every publish and
// every delivery.
func TestPermitsAllocatesNothing(t *testing.T) {
	b := &Broker{acl: compileACL([]ACLEntry{{Users: []string{"*"}, Publish: []string{"community/+/building/+/+/%u/#"}}})}
	user := []byte("dev-7")
	topic := "community/sun/building/3/12/dev-7/gas"
	if !b.permits(user, "cid", topic, true) {
		t.Fatal("not permitted")
	}
	if n := testing.AllocsPerRun(100, func() { b.permits(user, "cid", topic, true) }); n != 0 {
		t.Errorf("permits allocates %v times per check", n)
	}
}
