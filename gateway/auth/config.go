package auth

import (
	"time"

	"github.com/shouwang-iot/shouwang"
)

// Config is the console's login settings; the gateway's config file holds
// it as its `console:` section.
type Config struct {
	// SessionIdle ends a session that has made no request for this long.
	// A day, so a duty-room screen stays logged in over a shift.
	SessionIdle time.Duration `yaml:"session_idle"`
	// SessionMax ends a session this long after its login, however busy.
	SessionMax time.Duration `yaml:"session_max"`
	// LoginAttempts is how many failed logins one user may have from one
	// remote address within Lockout before further tries are refused.
	LoginAttempts int `yaml:"login_attempts"`
	// Lockout is both the window LoginAttempts are counted in and how long
	// tries are then refused (429), from the failure that used up the last
	// attempt.
	Lockout time.Duration `yaml:"lockout"`
}

// Defaults, in one place.
const (
	DefaultSessionIdle   = 24 * time.Hour
	DefaultSessionMax    = 7 * 24 * time.Hour
	DefaultLoginAttempts = 5
	DefaultLockout       = time.Minute

	// touchEvery is how often a session's last_seen is written: an SD card
	// wears with writes, and idle expiry needs no finer grain.
	touchEvery = time.Minute
	// minSessionIdle leaves room for last_seen lagging by touchEvery, so a
	// busy session is never taken for an idle one.
	minSessionIdle = 5 * time.Minute
	// maxLoginAttempts keeps the lockout meaningful against guessing.
	maxLoginAttempts = 100
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		SessionIdle:   DefaultSessionIdle,
		SessionMax:    DefaultSessionMax,
		LoginAttempts: DefaultLoginAttempts,
		Lockout:       DefaultLockout,
	}
}

// Validate reports every problem with the section as shouwang.FieldErrors.
// It does no I/O.
func (c Config) Validate() error {
	var fe shouwang.FieldErrors
	if c.SessionIdle < minSessionIdle {
		fe.Add("session_idle", "%s is too short (at least %s, since a session's last request is recorded once a minute; e.g. 24h)", c.SessionIdle, minSessionIdle)
	}
	if c.SessionMax < minSessionIdle {
		fe.Add("session_max", "%s is too short (at least %s; e.g. 168h for a week)", c.SessionMax, minSessionIdle)
	} else if c.SessionIdle > c.SessionMax {
		fe.Add("session_idle", "%s is longer than session_max (%s), so it would never end a session (want at most session_max)", c.SessionIdle, c.SessionMax)
	}
	if c.LoginAttempts < 1 || c.LoginAttempts > maxLoginAttempts {
		fe.Add("login_attempts", "%d is not usable (1 to %d failed logins before a lockout; e.g. 5)", c.LoginAttempts, maxLoginAttempts)
	}
	if c.Lockout < time.Second {
		fe.Add("lockout", "%s is too short (at least 1s; e.g. 1m)", c.Lockout)
	}
	return fe.Err()
}
