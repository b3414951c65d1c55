package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/shouwang-iot/shouwang/gateway/internal/sqlitedb"

	"golang.org/x/crypto/bcrypt"
)

// Auth is an open console database: users, sessions and the audit journal.
// Another process (`shouwang user`) may have the same file open; users are
// read from the file on every check, never cached for long, so what it
// changes takes effect here at once.
type Auth struct {
	db     *sql.DB
	cfg    Config
	now    func() time.Time
	logger *slog.Logger

	// cost is bcrypt's work factor for new hashes; tests lower it.
	cost int
	// compare is bcrypt's check; tests count its calls.
	compare func(hash, password []byte) error
	// dummyHash is compared against when the user does not exist, so an
	// unknown name takes as long to refuse as a wrong password.
	dummyHash func() []byte

	lockout lockout
	basic   basicCache
	// bcryptSlots bounds the password checks under way: each takes a core
	// for tens of milliseconds (hashCost) on a board that also runs the
	// alarm rules, and guessing at many user names is not slowed by the
	// lockout.
	bcryptSlots chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// hashCost is bcrypt's work factor: one check took 57 ms of a core on the
// x86 build machine (BenchmarkPasswordCheck), more on an ARM board; paid
// at a login, and by a script's basic auth once per basicCacheFor.
const hashCost = 10

// migrations are applied in order; a released entry is never edited.
var migrations = []string{
	// 1: users, their sessions, and the audit journal. Times are unix
	// milliseconds.
	`
CREATE TABLE users (
	name    TEXT    PRIMARY KEY,
	role    TEXT    NOT NULL,
	hash    TEXT    NOT NULL, -- bcrypt
	created INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id_hash   BLOB    PRIMARY KEY, -- SHA-256 of the cookie's id: the id itself is never stored
	user      TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	csrf      TEXT    NOT NULL,
	created   INTEGER NOT NULL,
	last_seen INTEGER NOT NULL -- written at most once a minute
) WITHOUT ROWID, STRICT;

CREATE INDEX sessions_user ON sessions (user);

CREATE TABLE audit (
	time   INTEGER NOT NULL,
	user   TEXT    NOT NULL,
	action TEXT    NOT NULL, -- "POST /api/v1/alarms/7/acknowledge", "login", ...
	status INTEGER NOT NULL, -- the HTTP status answered; 0 for what came from elsewhere
	remote TEXT    NOT NULL,
	detail TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_time ON audit (time);
CREATE INDEX audit_user_time ON audit (user, time);
`,
}

// Open opens (creating it if need be) the console database at path, e.g.
// <data_dir>/console.db. now is the clock for sessions, lockouts and the
// journal. cfg must be valid. A nil logger discards.
func Open(ctx context.Context, path string, cfg Config, now func() time.Time, logger *slog.Logger) (*Auth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	// synchronous=full: a user added or a journal entry written is on the
	// card before it is answered. Writes are few (logins, actions, a
	// session's last_seen once a minute).
	db, _, _, err := sqlitedb.Open(ctx, path, "full", 4, migrations)
	if err != nil {
		return nil, fmt.Errorf("console database %s: %w", path, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Auth{db: db, cfg: cfg, now: now, logger: logger, cost: hashCost, compare: bcrypt.CompareHashAndPassword,
		bcryptSlots: make(chan struct{}, 2)}
	a.dummyHash = sync.OnceValue(func() []byte { return mustHash(rand.Text(), a.cost) })
	a.basic.key = make([]byte, 32)
	rand.Read(a.basic.key)
	return a, nil
}

// Close closes the database. It may be called more than once.
func (a *Auth) Close() error {
	a.closeOnce.Do(func() { a.closeErr = a.db.Close() })
	return a.closeErr
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// FileName is the console database's name in the gateway's data_dir.
const FileName = "console.db"

// DefaultFile is where the console database is: <dataDir>/console.db.
func DefaultFile(dataDir string) string { return filepath.Join(dataDir, FileName) }
