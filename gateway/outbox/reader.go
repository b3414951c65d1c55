package outbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// logReader reads records in order from one position of the log, the way a
// sink's forwarder consumes it. It never reads past what append has made
// durable.
type logReader struct {
	l     *segmentLog
	seq   uint64 // sequence number of the next record to read
	f     *os.File
	r     *bufio.Reader
	fseq  uint64 // sequence number the open file is positioned at
	end   uint64 // first sequence number of the segment after the open one; 0 for the tail
	buf   []byte
	Lost  uint64 // records skipped because their frame was corrupt
	onErr func(error)
}

func newLogReader(l *segmentLog, seq uint64) *logReader {
	return &logReader{l: l, seq: seq}
}

// next returns the next record's sequence number and payload; the payload
// is valid until the following call. io.EOF means nothing more is durable.
func (r *logReader) next() (uint64, []byte, error) {
	for {
		first, next, _ := r.l.state()
		if r.seq < first {
			r.seek(first) // removed under us (dropped when the outbox was full)
		}
		if r.seq >= next {
			return 0, nil, io.EOF
		}
		if r.f == nil || r.fseq != r.seq || (r.end != 0 && r.seq >= r.end) {
			if err := r.open(); errors.Is(err, errSkipped) {
				continue
			} else if err != nil {
				return 0, nil, err
			}
		}
		var err error
		r.buf, _, err = readFrame(r.r, r.buf)
		if err != nil {
			// Only a segment behind the tail can be garbled here (the tail was
			// checked at open and written since): skip what is left of it.
			if err := r.skipSegment(err); !errors.Is(err, errSkipped) {
				return 0, nil, err
			}
			continue
		}
		seq := r.seq
		r.seq++
		r.fseq++
		return seq, r.buf, nil
	}
}

// seek makes seq the next record to read.
func (r *logReader) seek(seq uint64) {
	r.seq = seq
	r.closeFile()
}

// open opens the segment holding r.seq and skips to it.
func (r *logReader) open() error {
	r.closeFile()
	first, end := r.l.segmentFor(r.seq)
	if r.seq < first {
		r.seq = first
	}
	f, err := os.Open(filepath.Join(r.l.dir, segName(first)))
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	r.f, r.r, r.fseq, r.end = f, bufio.NewReaderSize(f, 1<<16), first, end
	for r.fseq < r.seq {
		var err error
		if r.buf, _, err = readFrame(r.r, r.buf); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return r.skipSegment(err)
		}
		r.fseq++
	}
	return nil
}

// errSkipped says the rest of a garbled segment was skipped.
var errSkipped = errors.New("skipped")

// skipSegment gives up on the rest of the open segment after a garbled
// frame. Only a segment behind the tail can be garbled here (the tail was
// checked at open and written since), so that is an error.
func (r *logReader) skipSegment(cause error) error {
	end := r.end
	r.closeFile()
	if end == 0 {
		return fmt.Errorf("outbox: record %d unreadable in the tail segment: %w", r.seq, cause)
	}
	if r.onErr != nil {
		r.onErr(fmt.Errorf("outbox: records %d..%d skipped: %w", r.seq, end-1, cause))
	}
	r.Lost += end - r.seq
	r.seq = end
	return errSkipped
}

func (r *logReader) closeFile() {
	if r.f != nil {
		r.f.Close()
		r.f, r.r = nil, nil
	}
}
