package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
	"time"
)

// basicCacheFor is how long a password that passed bcrypt is taken as
// right without another bcrypt: a script polling every few seconds pays
// for one comparison per five minutes, not one per request.
const basicCacheFor = 5 * time.Minute

// basicCache remembers basic-auth passwords that were right. It holds no
// passwords, only an HMAC of each under a key made at Open, which is
// worthless outside this process. Each hit is also tied to the user's
// bcrypt hash as the file has it now, so a password changed by another
// process (`shouwang user passwd`) stops matching at once; forget does the
// same at once for changes made here.
type basicCache struct {
	key []byte
	mu  sync.Mutex
	ok  map[basicKey]basicHit
}

type basicKey struct {
	user string
	mac  [sha256.Size]byte
}

type basicHit struct {
	hash  string // the user's bcrypt hash when the password matched it
	until time.Time
}

func (c *basicCache) keyFor(user, password string) basicKey {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(password))
	k := basicKey{user: user}
	m.Sum(k.mac[:0])
	return k
}

// hit says whether k passed bcrypt against hash less than basicCacheFor
// ago.
func (c *basicCache) hit(k basicKey, hash string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.ok[k]
	return ok && h.hash == hash && now.Before(h.until)
}

func (c *basicCache) remember(k basicKey, hash string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok == nil {
		c.ok = map[basicKey]basicHit{}
	}
	if len(c.ok) > sweepAbove {
		for k, h := range c.ok {
			if !now.Before(h.until) {
				delete(c.ok, k)
			}
		}
	}
	c.ok[k] = basicHit{hash: hash, until: now.Add(basicCacheFor)}
}

// forget drops what is remembered for user.
func (c *basicCache) forget(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.ok {
		if k.user == user {
			delete(c.ok, k)
		}
	}
}
