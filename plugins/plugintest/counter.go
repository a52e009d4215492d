package plugintest

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/curtainhq/curtain/core"
)

// Counter runs the core.Counter conformance suite. newCounter returns a
// counter that has handed out nothing yet.
func Counter(t *testing.T, newCounter func(t *testing.T) core.Counter) {
	t.Helper()
	for _, tc := range CounterCases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			tc.Run(t, newCounter(t))
		})
	}
}

// CounterCases returns the cases of the Counter suite, for runners other than go
// test (see Check).
func CounterCases() []Case[core.Counter] {
	return []Case[core.Counter]{
		{"SequentialBlocksDoNotOverlap", counterSequential},
		{"FloorRaisesTheCounter", counterFloor},
		{"FloorBelowCounterIsIgnored", counterFloorBelow},
		{"ConcurrentBlocksDoNotOverlap", counterConcurrent},
		{"SizeBelowOneIsInvalid", counterInvalid},
	}
}

// reserve calls Reserve and checks the block's shape.
func reserve(t T, c core.Counter, size, floor int64) core.Block {
	t.Helper()
	b, err := c.Reserve(callCtx(t), core.ReserveRequest{Size: size, Floor: floor})
	if err != nil {
		t.Fatalf("Reserve(size %d, floor %d) error: %v", size, floor, err)
	}
	if b.Size != size {
		t.Errorf("Reserve(size %d, floor %d) = %+v, want Size %d", size, floor, b, size)
	}
	if b.First <= floor || b.First < 1 {
		t.Errorf("Reserve(size %d, floor %d) = %+v, want First > floor and >= 1", size, floor, b)
	}
	return b
}

// checkDisjoint fails if any two blocks share a value.
func checkDisjoint(t T, blocks []core.Block) {
	t.Helper()
	sorted := slices.Clone(blocks)
	slices.SortFunc(sorted, func(a, b core.Block) int { return cmp.Compare(a.First, b.First) })
	for i := 1; i < len(sorted); i++ {
		prev := sorted[i-1]
		if prev.First+prev.Size > sorted[i].First {
			t.Errorf("blocks overlap: %+v and %+v", prev, sorted[i])
		}
	}
}

func counterSequential(t T, c core.Counter) {
	var blocks []core.Block
	last := int64(0)
	for _, size := range []int64{1, 1, 10, 100, 3} {
		b := reserve(t, c, size, 0)
		if b.First <= last {
			t.Errorf("Reserve after a block ending at %d = %+v, want a later block", last, b)
		}
		last = b.First + b.Size - 1
		blocks = append(blocks, b)
	}
	checkDisjoint(t, blocks)
}

func counterFloor(t T, c core.Counter) {
	first := reserve(t, c, 5, 0)
	floor := first.First + 1000
	b := reserve(t, c, 10, floor)
	if b.First != floor+1 {
		t.Errorf("Reserve(10, floor %d) = %+v, want First %d (the counter is raised to the floor)", floor, b, floor+1)
	}
	next := reserve(t, c, 1, 0)
	if next.First <= b.First+b.Size-1 {
		t.Errorf("Reserve after %+v = %+v, want a later block", b, next)
	}
}

func counterFloorBelow(t T, c core.Counter) {
	a := reserve(t, c, 50, 0)
	b := reserve(t, c, 5, a.First) // the floor is below the counter
	if b.First != a.First+a.Size {
		t.Errorf("Reserve(5, floor %d) after %+v = %+v, want First %d (floor ignored)", a.First, a, b, a.First+a.Size)
	}
}

func counterConcurrent(t T, c core.Counter) {
	const workers, perWorker = 8, 25
	var (
		mu     sync.Mutex
		blocks []core.Block
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				size := 1 + rand.Int64N(5)
				floor := rand.Int64N(500)
				b, err := c.Reserve(callCtx(t), core.ReserveRequest{Size: size, Floor: floor})
				if err != nil {
					t.Errorf("Reserve(size %d, floor %d) error: %v", size, floor, err)
					return
				}
				if b.Size != size || b.First <= floor {
					t.Errorf("Reserve(size %d, floor %d) = %+v", size, floor, b)
				}
				mu.Lock()
				blocks = append(blocks, b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(blocks) != workers*perWorker {
		t.Fatalf("got %d blocks, want %d", len(blocks), workers*perWorker)
	}
	checkDisjoint(t, blocks)
}

func counterInvalid(t T, c core.Counter) {
	for _, size := range []int64{0, -1} {
		_, err := c.Reserve(callCtx(t), core.ReserveRequest{Size: size})
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Reserve(size %d) error = %v, want core.ErrInvalid", size, err)
		}
	}
}
