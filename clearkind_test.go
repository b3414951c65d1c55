package shouwang

import "testing"

func TestClearKind(t *testing.T) {
	for _, tc := range []struct{ kind, want string }{
		{"offline", "online"},
		{"smoke_alarm", "smoke_clear"},
		{"co_alarm", "co_clear"},
		{"fire_alarm", "fire_clear"},
		{"low_alarm", "low_clear"},
		{"fault", "fault_clear"},
		{"low_battery", "low_battery_clear"},
		{"end_of_life", "end_of_life_clear"},
	} {
		if got := ClearKind(tc.kind); got != tc.want {
			t.Errorf("ClearKind(%q) = %q, want %q", tc.kind, got, tc.want)
		}
		if IsClearKind(tc.kind) {
			t.Errorf("IsClearKind(%q) = true, want false: it raises", tc.kind)
		}
		if !IsClearKind(tc.want) {
			t.Errorf("IsClearKind(%q) = false, want true: ClearKind returns it", tc.want)
		}
	}
}
