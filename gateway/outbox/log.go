package outbox

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/shouwang-iot/shouwang/internal/durable"
)

// segmentLog is an append-only log of records split into segment files,
// each named by the sequence number of its first record. Every record is
// framed as
//
//	length  uint32 LE, of the payload
//	crc     uint32 LE, CRC-32C of the payload
//	payload
//
// A power cut can leave the tail segment torn or filled with garbage; open
// truncates it back to the last record whose checksum holds. (tidwall/wal,
// which Telegraf uses, has no checksum and refuses to open such a log: see
// DEPENDENCIES.md.) Appends are grouped: one write and one fsync for many
// records. Segments wholly behind every reader are deleted whole, never
// rewritten, to spare the SD card.
type segmentLog struct {
	dir      string
	segBytes int64

	mu    sync.Mutex
	segs  []segment // ascending; the last is the tail being appended to
	tail  *os.File
	next  uint64 // sequence number the next record gets
	bytes int64  // all segments together
	buf   []byte // reused framing buffer
	// closed is set by close; a nil tail with closed unset means a failed
	// append, and the next append starts a new segment.
	closed bool
	// write is (*os.File).Write; tests replace it to fail like a full disk.
	write func(f *os.File, b []byte) (int, error)
}

type segment struct {
	first uint64 // sequence number of its first record
	size  int64
}

const (
	frameHeader = 8
	// maxRecord guards against a garbled length making us allocate wildly.
	maxRecord = 64 << 20
	segSuffix = ".seg"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a record whose frame or checksum is wrong.
var errCorrupt = errors.New("corrupt record")

// tornTail describes what open cut off the tail segment.
type tornTail struct {
	Bytes   int64  // bytes removed
	Segment string // file they were removed from
}

func segName(first uint64) string { return fmt.Sprintf("%020d%s", first, segSuffix) }

func openSegmentLog(dir string, segBytes int64) (*segmentLog, *tornTail, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("outbox: %w", err)
	}
	l := &segmentLog{dir: dir, segBytes: segBytes, write: (*os.File).Write}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) || e.IsDir() {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil || first == 0 {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, nil, fmt.Errorf("outbox: %w", err)
		}
		l.segs = append(l.segs, segment{first: first, size: info.Size()})
		l.bytes += info.Size()
	}
	slices.SortFunc(l.segs, func(a, b segment) int { return cmp.Compare(a.first, b.first) })
	if len(l.segs) == 0 {
		if err := l.createTail(1); err != nil {
			return nil, nil, err
		}
		l.next = 1
		return l, nil, nil
	}
	torn, err := l.openTail()
	if err != nil {
		return nil, nil, err
	}
	return l, torn, nil
}

// openTail scans the tail segment, cuts it back to its last good record
// and opens it for appending.
func (l *segmentLog) openTail() (*tornTail, error) {
	t := &l.segs[len(l.segs)-1]
	path := filepath.Join(l.dir, segName(t.first))
	f, err := os.OpenFile(path, os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	var good int64
	var n uint64
	r := bufio.NewReaderSize(f, 1<<16)
	var buf []byte
	for {
		var size int
		buf, size, err = readFrame(r, buf)
		if err != nil {
			break
		}
		good += int64(size)
		n++
	}
	var torn *tornTail
	if !errors.Is(err, io.EOF) || good != t.size {
		torn = &tornTail{Bytes: t.size - good, Segment: path}
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("outbox: cut torn tail of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("outbox: %w", err)
		}
		l.bytes -= t.size - good
		t.size = good
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	l.tail = f
	l.next = t.first + n
	return torn, nil
}

// readFrame reads one framed record into buf, returning the payload and the
// frame's size on disk. io.EOF means a clean end; anything else is a torn
// or garbled frame.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, int, error) {
	var hdr [frameHeader]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return buf, 0, io.EOF
		}
		return buf, 0, errCorrupt
	}
	size := binary.LittleEndian.Uint32(hdr[0:4])
	// No record is empty, and the CRC-32C of nothing is 0: without this a
	// zero-filled tail would read as a run of empty records.
	if size == 0 || size > maxRecord {
		return buf, 0, errCorrupt
	}
	buf = slices.Grow(buf[:0], int(size))[:size]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf, 0, errCorrupt
	}
	if crc32.Checksum(buf, castagnoli) != binary.LittleEndian.Uint32(hdr[4:8]) {
		return buf, 0, errCorrupt
	}
	return buf, frameHeader + int(size), nil
}

func (l *segmentLog) createTail(first uint64) error {
	path := filepath.Join(l.dir, segName(first))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	// The new name must survive a power cut as surely as the records
	// written into it will.
	if err := durable.SyncDir(l.dir); err != nil {
		f.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	l.tail = f
	l.segs = append(l.segs, segment{first: first})
	return nil
}

// append writes the payloads as consecutive records with one write and one
// fsync, and returns the sequence number of the first.
func (l *segmentLog) append(payloads [][]byte) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, errClosed
	}
	t := &l.segs[len(l.segs)-1]
	if l.tail == nil || (t.size >= l.segBytes && t.first < l.next) {
		if err := l.rotate(); err != nil {
			return 0, err
		}
		t = &l.segs[len(l.segs)-1]
	}
	first := l.next
	buf := l.buf[:0]
	for _, p := range payloads {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(p)))
		buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(p, castagnoli))
		buf = append(buf, p...)
	}
	l.buf = buf
	_, err := l.write(l.tail, buf)
	if err == nil {
		err = l.tail.Sync()
	}
	if err != nil {
		// After a failed write or fsync the kernel may keep pages it never
		// wrote ("fsyncgate"): cut the group off and go on in a new segment,
		// so that no later, acknowledged record ever sits behind it.
		l.tail.Truncate(t.size)
		l.tail.Close()
		l.tail = nil
		return 0, fmt.Errorf("outbox: append %d records: %w", len(payloads), err)
	}
	t.size += int64(len(buf))
	l.bytes += int64(len(buf))
	l.next += uint64(len(payloads))
	if cap(l.buf) > 4*int(l.segBytes) {
		l.buf = nil // one huge group should not pin its buffer for ever
	}
	return first, nil
}

// rotate starts a new tail segment. An empty tail (after a failed append)
// is started again in place.
func (l *segmentLog) rotate() error {
	if l.tail != nil {
		if err := l.tail.Close(); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		l.tail = nil
	}
	if t := l.segs[len(l.segs)-1]; t.first == l.next {
		l.segs = l.segs[:len(l.segs)-1]
		l.bytes -= t.size
	}
	return l.createTail(l.next)
}

// removeBefore deletes the segments whose records all come before seq.
// The tail is never removed.
func (l *segmentLog) removeBefore(seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	removed := 0
	for removed < len(l.segs)-1 && l.segs[removed+1].first <= seq {
		s := l.segs[removed]
		if err := os.Remove(filepath.Join(l.dir, segName(s.first))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("outbox: %w", err)
		}
		l.bytes -= s.size
		removed++
	}
	l.segs = l.segs[removed:]
	return nil
}

// oldest returns the range [first, end) of the oldest segment that is not
// the tail; ok is false when the tail is all there is.
func (l *segmentLog) oldest() (first, end uint64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.segs) < 2 {
		return 0, 0, false
	}
	return l.segs[0].first, l.segs[1].first, true
}

// state returns the first and next sequence numbers and the size on disk.
func (l *segmentLog) state() (first, next uint64, bytes int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs[0].first, l.next, l.bytes
}

// segmentFor returns the segment holding seq (or the first one, for a seq
// already removed) and where the segment after it starts (0 for the tail).
func (l *segmentLog) segmentFor(seq uint64) (first, end uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := slices.BinarySearchFunc(l.segs, seq, func(s segment, seq uint64) int { return cmp.Compare(s.first, seq) })
	if i == len(l.segs) || l.segs[i].first > seq {
		i = max(i-1, 0)
	}
	if i+1 < len(l.segs) {
		return l.segs[i].first, l.segs[i+1].first
	}
	return l.segs[i].first, 0
}

func (l *segmentLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.tail == nil {
		return nil
	}
	err := l.tail.Close()
	l.tail = nil
	return err
}
