package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// codeAllocator caches one block of counter values.
type codeAllocator struct {
	mu    sync.Mutex
	next  int64   // next unused value of the cached block
	end   int64   // one past the block's last value
	spare []int64 // values drawn but given back unused (putBack), drawn first
}

// nextCode returns a fresh short code (spec §5).
func (s *Service) nextCode(ctx context.Context) (string, error) {
	n, err := s.nextCodeValue(ctx)
	if err != nil {
		return "", err
	}
	return ShortCode(n), nil
}

// nextCodeValue returns the value of a fresh short code. A value whose
// code is a reserved word ("health", "events", … in any case) is skipped,
// as such a slug is refused, so that no generated link shadows a route
// when codes are served at the root.
func (s *Service) nextCodeValue(ctx context.Context) (int64, error) {
	for {
		n, err := s.drawCodeValue(ctx)
		if err != nil || checkReservedCode(ShortCode(n)) == nil {
			return n, err
		}
	}
}

// drawCodeValue returns the next counter value: one given back unused,
// else the next value of the cached block, or of a new block
// (reserveBlock); without a counter, a value reserved from the store
// itself.
func (s *Service) drawCodeValue(ctx context.Context) (int64, error) {
	a := &s.codes
	if n, ok := a.takeSpare(); ok {
		return n, nil
	}
	if s.counter == nil {
		first, err := s.store.ReserveCodes(ctx, 1)
		if err != nil {
			return 0, fmt.Errorf("reserve code from store: %w", err)
		}
		return first, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next >= a.end {
		first, size, err := s.reserveBlock(ctx)
		if err != nil {
			return 0, err
		}
		a.next, a.end = first, first+size
	}
	n := a.next
	a.next++
	return n, nil
}

// takeSpare returns a value given back unused, if there is one.
func (a *codeAllocator) takeSpare() (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := len(a.spare)
	if k == 0 {
		return 0, false
	}
	n := a.spare[k-1]
	a.spare = a.spare[:k-1]
	return n, true
}

// putBack gives back the value n of a code drawn but not used (its create
// found a link to reuse), so that the next create draws it and codes are
// not skipped: the last value drawn goes back into the block, any other
// onto the spare list.
func (a *codeAllocator) putBack(n int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n == a.next-1 && n < a.end {
		a.next = n
		return
	}
	a.spare = append(a.spare, n)
}

// reserveBlock reserves a block of values from the counter (counterBlock)
// or, when the counter fails, a block of the same size from the store's
// own counter: one value at a time, every create would wait its turn for
// the store's counter row and a commit of its own while the counter is
// down. The store's counter is the floor of the counter's next block, so
// the two never hand out one value twice.
func (s *Service) reserveBlock(ctx context.Context) (first, size int64, err error) {
	first, size, err = s.counterBlock(ctx)
	if err == nil {
		return first, size, nil
	}
	if _, ok := errors.AsType[counterFailed](err); !ok {
		// The store failed, not the counter: its own counter would too.
		return 0, 0, err
	}
	s.log.WarnContext(ctx, "counter unavailable, reserving codes from the store", "error", err)
	first, err = s.store.ReserveCodes(ctx, s.blockSize)
	if err != nil {
		return 0, 0, fmt.Errorf("reserve %d codes from store: %w", s.blockSize, err)
	}
	return first, s.blockSize, nil
}

// counterBlock reserves a new block from the counter, raised first to the
// store's code floor, and records it in the store before any value of it
// is used.
func (s *Service) counterBlock(ctx context.Context) (first, size int64, err error) {
	floor, err := s.store.CodeFloor(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read code floor: %w", err)
	}
	b, err := s.counter.Reserve(ctx, ReserveRequest{Size: s.blockSize, Floor: floor})
	if err != nil {
		return 0, 0, counterFailed{fmt.Errorf("reserve %d codes: %w", s.blockSize, err)}
	}
	if b.Size < 1 || b.First < 1 {
		return 0, 0, counterFailed{fmt.Errorf("counter returned an empty block (first %d, size %d)", b.First, b.Size)}
	}
	// Before any code of the block is used, the store's floor covers the
	// whole block: a counter that restarts empty cannot hand out a code
	// in use, even when codes were skipped (a failed create, a process
	// that stopped with part of its block unused).
	if err := s.store.RaiseCodeFloor(ctx, b.First+b.Size-1); err != nil {
		return 0, 0, fmt.Errorf("record %d codes: %w", b.Size, err)
	}
	return b.First, b.Size, nil
}

// counterFailed is an error of the counter itself, for which the store's
// own counter stands in (reserveBlock).
type counterFailed struct{ error }

func (e counterFailed) Unwrap() error { return e.error }
