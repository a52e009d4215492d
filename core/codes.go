package core

import (
	"context"
	"fmt"
	"sync"
)

// codeAllocator caches one block of counter values.
type codeAllocator struct {
	mu   sync.Mutex
	next int64 // next unused value of the cached block
	end  int64 // one past the block's last value
}

// nextCode returns a fresh short code (spec §5): the next value of the
// cached counter block, a new block from the counter (raised first to the
// store's code floor), or, when there is no counter or it fails, a value
// reserved from the store itself.
func (s *Service) nextCode(ctx context.Context) (string, error) {
	if s.counter != nil {
		n, err := s.nextCounterValue(ctx)
		if err == nil {
			return ShortCode(n), nil
		}
		s.log.WarnContext(ctx, "counter unavailable, reserving codes from the store", "error", err)
	}
	first, err := s.store.ReserveCodes(ctx, 1)
	if err != nil {
		return "", fmt.Errorf("reserve code from store: %w", err)
	}
	return ShortCode(first), nil
}

// nextCounterValue takes one value from the cached block, reserving a new
// block when it is used up and recording it in the store.
func (s *Service) nextCounterValue(ctx context.Context) (int64, error) {
	a := &s.codes
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next < a.end {
		n := a.next
		a.next++
		return n, nil
	}
	floor, err := s.store.CodeFloor(ctx)
	if err != nil {
		return 0, fmt.Errorf("read code floor: %w", err)
	}
	b, err := s.counter.Reserve(ctx, ReserveRequest{Size: s.blockSize, Floor: floor})
	if err != nil {
		return 0, fmt.Errorf("reserve %d codes: %w", s.blockSize, err)
	}
	if b.Size < 1 || b.First < 1 {
		return 0, fmt.Errorf("counter returned an empty block (first %d, size %d)", b.First, b.Size)
	}
	// Before any code of the block is used, the store's floor covers the
	// whole block: a counter that restarts empty cannot hand out a code
	// in use, even when codes were skipped (a failed create, a process
	// that stopped with part of its block unused).
	if err := s.store.RaiseCodeFloor(ctx, b.First+b.Size-1); err != nil {
		return 0, fmt.Errorf("record %d codes: %w", b.Size, err)
	}
	a.next, a.end = b.First+1, b.First+b.Size
	return b.First, nil
}
