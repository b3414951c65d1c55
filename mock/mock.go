// Package mock holds hand-written test doubles of the root interfaces,
// each a struct of function fields a test sets to what it needs.
package mock

import (
	"context"

	"github.com/shouwang-iot/shouwang"
)

var (
	_ shouwang.Sink      = (*Sink)(nil)
	_ shouwang.Publisher = (*Publisher)(nil)
)

// Sink is a shouwang.Sink whose Write calls WriteFn.
type Sink struct {
	WriteFn func(ctx context.Context, b shouwang.Batch) error
	CloseFn func() error
}

func (s *Sink) Write(ctx context.Context, b shouwang.Batch) error { return s.WriteFn(ctx, b) }

func (s *Sink) Close() error {
	if s.CloseFn == nil {
		return nil
	}
	return s.CloseFn()
}

// Publisher is a shouwang.Publisher whose Publish calls PublishFn.
type Publisher struct {
	PublishFn func(ctx context.Context, b shouwang.Batch) error
}

func (p *Publisher) Publish(ctx context.Context, b shouwang.Batch) error { return p.PublishFn(ctx, b) }
