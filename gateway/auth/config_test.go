package auth

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("the defaults are invalid: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		fields []string
	}{
		{"zero", func(c *Config) { *c = Config{} }, []string{"session_idle", "session_max", "login_attempts", "lockout"}},
		{"idle shorter than the touch allows", func(c *Config) { c.SessionIdle = 90 * time.Second }, []string{"session_idle"}},
		{"idle longer than max", func(c *Config) { c.SessionIdle, c.SessionMax = 48*time.Hour, 24*time.Hour }, []string{"session_idle"}},
		{"negative attempts", func(c *Config) { c.LoginAttempts = -1 }, []string{"login_attempts"}},
		{"too many attempts", func(c *Config) { c.LoginAttempts = 1000 }, []string{"login_attempts"}},
		{"lockout in nanoseconds", func(c *Config) { c.Lockout = 60 }, []string{"lockout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(&c)
			var fe shouwang.FieldErrors
			if err := c.Validate(); !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want FieldErrors", err)
			}
			if got := fe.Fields(); !slices.Equal(got, tc.fields) {
				t.Errorf("fields %v, want %v (%v)", got, tc.fields, fe)
			}
		})
	}
}
