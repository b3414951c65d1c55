package broker

import (
	"crypto/sha256"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// maxCached bounds the bcrypt results kept; past it the cache starts
// over, so a client trying many passwords cannot grow it without end.
const maxCached = 4096

// userStore checks credentials against the users file, reading it again
// whenever it changes (`shouwang broker user add` renames a new file into
// place), so users come and go without a restart.
type userStore struct {
	path   string
	logger *slog.Logger

	mu    sync.Mutex
	seen  fs.FileInfo // the file as last read; nil while missing
	gen   uint64      // bumped on each reload, to drop stale results
	users map[string][]byte
	// cache holds the outcome of bcrypt checks since the last reload: a
	// device reconnecting in a loop pays one bcrypt, not one per try.
	cache map[cacheKey]bool
}

type cacheKey struct {
	user string
	pass [sha256.Size]byte
}

func newUserStore(path string, logger *slog.Logger) *userStore {
	return &userStore{path: path, logger: logger, users: map[string][]byte{}, cache: map[cacheKey]bool{}}
}

// load reads the file for Start: a malformed file is an error there; a
// missing one means no users yet.
func (s *userStore) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.logger.Warn("broker users file not found: no device can log in until one is added (shouwang broker user add NAME)", "file", s.path)
		return nil
	}
	if err != nil {
		return err
	}
	return s.read(fi)
}

// refresh reads the file again if it is not the one last read. A file
// that became malformed is logged and the previous users kept.
func (s *userStore) refresh() {
	fi, err := os.Stat(s.path)
	if err != nil {
		fi = nil
	}
	if !changed(s.seen, fi) {
		return
	}
	if fi == nil {
		s.logger.Warn("broker users file is gone: no device can log in", "file", s.path)
		s.replace(nil, nil)
		return
	}
	if err := s.read(fi); err != nil {
		s.seen = fi
		s.logger.Error("broker users file not reloaded; the users read before stay in force", "file", s.path, "err", err)
	}
}

func changed(old, cur fs.FileInfo) bool {
	if old == nil || cur == nil {
		return old != cur
	}
	return !os.SameFile(old, cur) || !old.ModTime().Equal(cur.ModTime()) || old.Size() != cur.Size()
}

func (s *userStore) read(fi fs.FileInfo) error {
	list, err := ReadUsers(s.path)
	if err != nil {
		return err
	}
	users := make(map[string][]byte, len(list))
	for _, u := range list {
		users[u.Name] = []byte(u.Hash)
	}
	s.replace(fi, users)
	s.logger.Info("broker users file read", "file", s.path, "users", len(users))
	return nil
}

func (s *userStore) replace(fi fs.FileInfo, users map[string][]byte) {
	s.seen, s.users, s.gen = fi, users, s.gen+1
	clear(s.cache)
}

// check reports whether name and password match the file, and whether
// name is in it at all.
func (s *userStore) check(name string, password []byte) (ok, known bool) {
	key := cacheKey{user: name, pass: sha256.Sum256(password)}
	s.mu.Lock()
	s.refresh()
	hash, known := s.users[name]
	ok, cached := s.cache[key]
	gen := s.gen
	s.mu.Unlock()
	if !known || cached {
		return ok && known, known
	}
	// bcrypt takes tens of milliseconds by design: not under the lock.
	ok = bcrypt.CompareHashAndPassword(hash, password) == nil
	s.mu.Lock()
	if s.gen == gen {
		if len(s.cache) >= maxCached {
			clear(s.cache)
		}
		s.cache[key] = ok
	}
	s.mu.Unlock()
	return ok, true
}
