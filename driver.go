package shouwang

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrStopped is returned by Publish once the pipeline has shut down.
var ErrStopped = errors.New("pipeline stopped")

// Publisher is what a driver is handed to report what it read.
type Publisher interface {
	// Publish hands a batch to the pipeline. It blocks while the pipeline is
	// full (backpressure) and returns nil only once the batch is durable, so
	// a driver may then acknowledge it upstream (an MQTT QoS 1 message, a
	// GB/T 26875.3 confirm frame). It returns ctx.Err() if ctx ends first and
	// ErrStopped after shutdown; in both cases the batch may not be durable.
	// The pipeline keeps b's slices: a driver must not reuse them after
	// Publish.
	Publish(ctx context.Context, b Batch) error
}

// Driver reads a set of devices over one transport.
//
// The gateway builds a driver from its validated config, then calls Start
// once. Start returns when the driver is running (or fails, and the gateway
// retries it with backoff); the driver's goroutines publish until ctx ends
// or Close is called. Close stops and waits for every goroutine the driver
// started, is safe to call more than once, and works after a failed Start.
type Driver interface {
	Start(ctx context.Context, pub Publisher) error
	Close() error
}

// Sink writes batches to a store outside the gateway. It does not buffer or
// retry: the outbox owns both and calls Write again with the same batch when
// the error says it may.
type Sink interface {
	// Write sends the batch. A *WriteError tells the outbox whether to retry
	// and when; any other error is retried with backoff.
	Write(ctx context.Context, b Batch) error
	Close() error
}

// WriteError is a failed Write that says what the outbox should do next.
type WriteError struct {
	Err error
	// Permanent means the store rejected the batch itself (malformed, too
	// large); sending it again would fail again, so it goes to quarantine.
	Permanent bool
	// RetryAfter is the store's requested wait (HTTP Retry-After), or zero.
	RetryAfter time.Duration
}

func (e *WriteError) Error() string { return e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// FieldError is one problem in a component's config. Field is the path
// below the component in YAML terms ("port", "points[2].address"), so the
// loader can point at the file, line and column.
type FieldError struct {
	Field   string
	Problem string // what is wrong, then what would be valid in parentheses
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// FieldErrors collects every problem found by a Validate method.
type FieldErrors []*FieldError

// Add records a problem; format follows fmt.Sprintf.
func (fe *FieldErrors) Add(field, format string, args ...any) {
	*fe = append(*fe, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// Fields lists the fields named, in order.
func (fe FieldErrors) Fields() []string {
	out := make([]string, len(fe))
	for i, e := range fe {
		out[i] = e.Field
	}
	return out
}

// Err returns nil when nothing was added, and the list otherwise.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func (fe FieldErrors) Error() string {
	msgs := make([]string, len(fe))
	for i, e := range fe {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}
