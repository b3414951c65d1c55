package broker

import (
	"sync"
	"time"
)

// aclRule is an ACLEntry compiled.
type aclRule struct {
	everyone           bool
	users              map[string]bool
	publish, subscribe []pattern
}

func compileACL(entries []ACLEntry) []aclRule {
	rules := make([]aclRule, len(entries))
	for i, e := range entries {
		r := aclRule{users: map[string]bool{}}
		for _, u := range e.Users {
			r.everyone = r.everyone || u == "*"
			r.users[u] = true
		}
		for _, f := range e.Publish {
			r.publish = append(r.publish, compile(f))
		}
		for _, f := range e.Subscribe {
			r.subscribe = append(r.subscribe, compile(f))
		}
		rules[i] = r
	}
	return rules
}

// permits says whether some entry lets user (as client) publish to the
// topic name (write) or subscribe to the filter.
func (b *Broker) permits(user []byte, client, topic string, write bool) bool {
	var levels [16]string
	f, ok := segments(levels[:0], topic, !write)
	if !ok {
		return false
	}
	for _, r := range b.acl {
		if !r.everyone && !r.users[string(user)] {
			continue
		}
		ps := r.subscribe
		if write {
			ps = r.publish
		}
		for _, p := range ps {
			if p.covers(f, user, client) {
				return true
			}
		}
	}
	return false
}

// maxLimited bounds the keys a limiter remembers.
const maxLimited = 4096

// limiter lets a log line through once per key per interval, so a device
// retrying in a loop does not flood the log.
type limiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, last: map[string]time.Time{}}
}

func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		return false
	}
	if len(l.last) >= maxLimited {
		for k, t := range l.last {
			if now.Sub(t) >= l.every {
				delete(l.last, k)
			}
		}
		if len(l.last) >= maxLimited {
			clear(l.last) // a flood of distinct keys: start over rather than grow
		}
	}
	l.last[key] = now
	return true
}
