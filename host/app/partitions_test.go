package app

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
)

// partitionStore is a store whose AddEventPartitions reports its calls.
type partitionStore struct {
	core.Store
	calls chan int
}

func (p partitionStore) AddEventPartitions(_ context.Context, monthsAhead int) (int, error) {
	p.calls <- monthsAhead
	return 1, nil
}

// TestKeepEventPartitions: consume creates the coming months' partitions
// as it starts, and the goroutine ends with its context.
func TestKeepEventPartitions(t *testing.T) {
	st := partitionStore{calls: make(chan int, 1)}
	ctx, cancel := context.WithCancel(t.Context())
	wait := keepEventPartitions(ctx, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if got := <-st.calls; got != bunstore.PartitionsAhead {
		t.Errorf("AddEventPartitions(%d), want %d months ahead", got, bunstore.PartitionsAhead)
	}
	cancel()
	wait()
	// A store without partitions is left alone.
	keepEventPartitions(t.Context(), struct{ core.Store }{}, slog.New(slog.NewTextHandler(io.Discard, nil)))()
}
