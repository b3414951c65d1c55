package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func payload(i int) []byte {
	return []byte(fmt.Sprintf("record-%04d-%s", i, bytes.Repeat([]byte{'x'}, i%7)))
}

// mustLog opens a log in dir with n records appended in groups of three.
func mustLog(tb testing.TB, dir string, n int) *segmentLog {
	tb.Helper()
	l, torn, err := openSegmentLog(dir, 1<<20)
	if err != nil || torn != nil {
		tb.Fatalf("open: %v, torn %+v", err, torn)
	}
	for i := 0; i < n; i += 3 {
		var group [][]byte
		for j := i; j < min(i+3, n); j++ {
			group = append(group, payload(j))
		}
		if _, err := l.append(group); err != nil {
			tb.Fatal(err)
		}
	}
	return l
}

func readAll(tb testing.TB, l *segmentLog, from uint64) [][]byte {
	tb.Helper()
	r := newLogReader(l, from)
	defer r.closeFile()
	var out [][]byte
	for {
		_, p, err := r.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, bytes.Clone(p))
	}
}

func checkRecords(tb testing.TB, got [][]byte, n int) {
	tb.Helper()
	if len(got) != n {
		tb.Fatalf("%d records, want %d", len(got), n)
	}
	for i, p := range got {
		if !bytes.Equal(p, payload(i)) {
			tb.Fatalf("record %d = %q, want %q", i, p, payload(i))
		}
	}
}

// TestTornTailEveryOffset cuts the last record off at every byte, and
// scribbles over it from every byte, the way a power cut in the middle of a
// write can leave it: open must keep every record before it and accept
// appends after.
func TestTornTailEveryOffset(t *testing.T) {
	const n = 10
	base := t.TempDir()
	l := mustLog(t, base, n)
	l.close()
	seg := filepath.Join(base, segName(1))
	whole, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	last := len(whole) - (frameHeader + len(payload(n-1)))
	scribbles := map[string]func([]byte){
		"cut":   nil,
		"zeros": func(b []byte) { clear(b) },
		"ones":  func(b []byte) { copy(b, bytes.Repeat([]byte{0xff}, len(b))) },
		"flip":  func(b []byte) { b[0] ^= 0x5a },
	}
	for name, scribble := range scribbles {
		for off := last; off < len(whole); off++ {
			data := bytes.Clone(whole)
			if scribble == nil {
				data = data[:off]
			} else {
				scribble(data[off:])
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, segName(1)), data, 0o640); err != nil {
				t.Fatal(err)
			}
			l, torn, err := openSegmentLog(dir, 1<<20)
			if err != nil {
				t.Fatalf("%s at %d: open: %v", name, off, err)
			}
			if torn == nil && !(scribble == nil && off == last) {
				t.Fatalf("%s at %d: torn tail not reported", name, off)
			}
			checkRecords(t, readAll(t, l, 1), n-1)
			if _, err := l.append([][]byte{payload(n - 1)}); err != nil {
				t.Fatal(err)
			}
			checkRecords(t, readAll(t, l, 1), n)
			l.close()
		}
	}
}

// TestZeroFilledTail: a file system can extend a file with zeros after a
// crash; zeros must not read as empty records.
func TestZeroFilledTail(t *testing.T) {
	dir := t.TempDir()
	l := mustLog(t, dir, 5)
	l.close()
	f, err := os.OpenFile(filepath.Join(dir, segName(1)), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 4096))
	f.Close()
	l, torn, err := openSegmentLog(dir, 1<<20)
	if err != nil || torn == nil || torn.Bytes != 4096 {
		t.Fatalf("open: %v, torn %+v", err, torn)
	}
	defer l.close()
	checkRecords(t, readAll(t, l, 1), 5)
}

func TestSegmentsRotateAndGo(t *testing.T) {
	dir := t.TempDir()
	l, _, err := openSegmentLog(dir, 64) // tiny segments: a few records each
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := l.append([][]byte{payload(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.segs) < 5 {
		t.Fatalf("only %d segments", len(l.segs))
	}
	checkRecords(t, readAll(t, l, 1), 40)
	// Reading from the middle crosses segment boundaries.
	if got := readAll(t, l, 17); len(got) != 24 || !bytes.Equal(got[0], payload(16)) {
		t.Fatalf("from 17: %d records, first %q", len(got), got[0])
	}
	if err := l.removeBefore(20); err != nil {
		t.Fatal(err)
	}
	first, next, _ := l.state()
	if first > 20 || next != 41 {
		t.Fatalf("after removeBefore(20): first %d next %d", first, next)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(files) != len(l.segs) {
		t.Fatalf("%d files for %d segments", len(files), len(l.segs))
	}
	l.close()
	// Reopen: the same records, and appends continue the numbering.
	l, torn, err := openSegmentLog(dir, 64)
	if err != nil || torn != nil {
		t.Fatalf("reopen: %v %+v", err, torn)
	}
	defer l.close()
	if _, next, _ := l.state(); next != 41 {
		t.Fatalf("next after reopen %d, want 41", next)
	}
	got := readAll(t, l, 20)
	if len(got) != 21 || !bytes.Equal(got[0], payload(19)) {
		t.Fatalf("after reopen from 20: %d records", len(got))
	}
}

// TestGarbledOldSegment: a garbled segment behind the tail is skipped and
// counted, and the reader carries on with the next one.
func TestGarbledOldSegment(t *testing.T) {
	dir := t.TempDir()
	l, _, _ := openSegmentLog(dir, 64)
	for i := range 20 {
		l.append([][]byte{payload(i)})
	}
	s0 := filepath.Join(dir, segName(l.segs[0].first))
	end := l.segs[1].first
	data, _ := os.ReadFile(s0)
	data[frameHeader+2] ^= 0xff // first record's payload
	os.WriteFile(s0, data, 0o640)
	r := newLogReader(l, 1)
	var errs []error
	r.onErr = func(err error) { errs = append(errs, err) }
	seq, p, err := r.next()
	if err != nil || seq != end || !bytes.Equal(p, payload(int(end-1))) {
		t.Fatalf("next = %d %q %v, want record %d", seq, p, err, end)
	}
	if r.Lost != end-1 || len(errs) != 1 {
		t.Fatalf("lost %d (want %d), errors %v", r.Lost, end-1, errs)
	}
	r.closeFile()
	l.close()
}
