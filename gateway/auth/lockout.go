package auth

import (
	"net"
	"sync"
	"time"
)

// lockout counts password tries per user and remote address, and refuses
// them for a while once too many have failed. It is in memory: a restart
// forgets it, which costs a guesser a gateway restart per few tries.
type lockout struct {
	mu    sync.Mutex
	tries map[lockKey]*tries
}

type lockKey struct{ user, ip string }

// tries are the unsuccessful tries of one key within the window.
type tries struct {
	at    []time.Time
	until time.Time // refused until then
}

// sweepAbove is the map size past which begin drops forgotten keys. Each
// entry costs a bcrypt comparison to make, which bounds how fast it grows.
const sweepAbove = 1024

// begin counts a try for key before its password is checked, so that
// tries made in parallel cannot get past the limit; succeed takes it back.
// It returns how long the key is still refused, or 0 if the try may go on.
func (l *lockout) begin(key lockKey, now time.Time, limit int, window time.Duration) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tries == nil {
		l.tries = map[lockKey]*tries{}
	}
	if len(l.tries) > sweepAbove {
		for k, t := range l.tries {
			if t.forgotten(now, window) {
				delete(l.tries, k)
			}
		}
	}
	t := l.tries[key]
	if t == nil {
		t = &tries{}
		l.tries[key] = t
	}
	if now.Before(t.until) {
		return t.until.Sub(now)
	}
	t.prune(now, window)
	t.at = append(t.at, now)
	if len(t.at) >= limit {
		// This is the last try allowed: the next ones wait, whatever
		// this one's password turns out to be (unless it is right).
		t.until, t.at = now.Add(window), nil
	}
	return 0
}

// succeed forgets key's tries: the password was right.
func (l *lockout) succeed(key lockKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.tries, key)
}

// prune drops the tries that fell out of the window.
func (t *tries) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(t.at) && now.Sub(t.at[i]) >= window {
		i++
	}
	t.at = t.at[i:]
}

func (t *tries) forgotten(now time.Time, window time.Duration) bool {
	t.prune(now, window)
	return len(t.at) == 0 && !now.Before(t.until)
}

// remoteIP is the address part of r.RemoteAddr: tries are counted per
// machine, not per connection.
func remoteIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
