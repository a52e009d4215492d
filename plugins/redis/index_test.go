package redis

import (
	"errors"
	"testing"
	"time"
)

// TestIndexBumpOncePerFresh: on a single server a stream's index score is
// bumped by the first batch that writes to it and then once per
// indexFresh, not by every batch; a Delete of its code or a connection
// failure makes the next batch bump it again.
func TestIndexBumpOncePerFresh(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	shard := newTestShard(t, testSettings(srv, "bf:"))
	cn := shard.b.cur.Load()
	st := shard.state(cn)
	stream := "bf:stream:clicks:bump01"
	score := func() float64 {
		t.Helper()
		s, err := raw.ZScore(ctx, cn.indexKey(stream), stream).Result()
		if err != nil {
			t.Fatalf("ZSCORE: %v", err)
		}
		return s
	}
	steps := []struct {
		name   string
		before func()
		want   float64
	}{
		{"first batch", func() {}, 1},
		{"second batch at once", func() {}, 1},
		{"a batch indexFresh after the bump", func() { st.bumps.mark([]string{stream}, time.Now().Add(-indexFresh)) }, 2},
		{"a batch after a Delete of the code", func() {
			if err := shard.Delete(ctx, []string{"bump01"}); err != nil {
				t.Fatal(err)
			}
		}, 3},
		{"a batch after a connection failure", func() { st.failed(ctx, errors.New("connection reset")) }, 4},
		{"and at once again", func() {}, 4},
	}
	for _, s := range steps {
		s.before()
		recordN(t, shard, []string{"bump01"}, 1)
		if got := score(); got != s.want {
			t.Errorf("%s: index score %v, want %v", s.name, got, s.want)
		}
	}
}
