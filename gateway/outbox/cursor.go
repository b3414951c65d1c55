package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/shouwang-iot/shouwang/internal/durable"
)

// cursor is a consumer's durable position: the sequence number of the next
// record it has not had confirmed. It is saved as 8 bytes of position and
// a CRC-32C, replaced atomically (write, fsync, rename, fsync the dir).
type cursor struct {
	name string
	path string
	seq  uint64
	// oldest is when the oldest record the consumer holds unconfirmed was
	// appended; zero when it has caught up. Not saved.
	oldest time.Time
}

var cursorName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func loadCursor(dir, name string, first, next uint64) (*cursor, error) {
	if !cursorName.MatchString(name) {
		return nil, fmt.Errorf("outbox: consumer name %q must be letters, digits, '.', '_' or '-'", name)
	}
	c := &cursor{name: name, path: filepath.Join(dir, "cursor."+name), seq: first}
	data, err := os.ReadFile(c.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// A new consumer starts with what the outbox still holds.
	case err != nil:
		return nil, fmt.Errorf("outbox: %w", err)
	case len(data) != 12 || crc32.Checksum(data[:8], castagnoli) != binary.LittleEndian.Uint32(data[8:]):
		// Resending from the start duplicates points the store overwrites;
		// guessing forward could lose them.
	default:
		c.seq = binary.LittleEndian.Uint64(data[:8])
	}
	c.seq = min(max(c.seq, first), next)
	return c, nil
}

// save writes seq as the cursor's durable position. It takes seq rather
// than reading c.seq, which others change under the outbox's lock.
func (c *cursor) save(seq uint64) error {
	var data [12]byte
	binary.LittleEndian.PutUint64(data[:8], seq)
	binary.LittleEndian.PutUint32(data[8:], crc32.Checksum(data[:8], castagnoli))
	if err := durable.Replace(c.path, data[:], 0o640, nil); err != nil {
		return fmt.Errorf("outbox: save cursor %s: %w", c.name, err)
	}
	return nil
}
