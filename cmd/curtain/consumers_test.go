package main

import (
	"database/sql"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// pendingOf counts the stream entries delivered to consumer of group
// pg_writers and not acknowledged, over every stream of the shards.
func pendingOf(t testing.TB, shards []*redisServer, consumer string) int64 {
	t.Helper()
	var n int64
	for _, r := range shards {
		rdb := goredis.NewClient(&goredis.Options{Addr: r.addr})
		keys, err := rdb.Keys(t.Context(), "stream:clicks:*").Result() // a test's small keyspace
		if err != nil {
			rdb.Close()
			t.Fatal(err)
		}
		for _, k := range keys {
			p, err := rdb.XPending(t.Context(), k, "pg_writers").Result()
			if err != nil {
				continue // no group yet
			}
			n += p.Consumers[consumer]
		}
		rdb.Close()
	}
	return n
}

// TestConsumerKilledMidBatch kills one of two consumers (SIGKILL) while it
// holds a batch it has read but not stored: the database is locked so
// that its insert waits, with its entries pending in the group. The other
// consumer claims them once they are idle, and every click is stored
// exactly once.
func TestConsumerKilledMidBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	tp := newTopology(t, newDatabase(t), 2)
	s := startServer(t, t.TempDir(), tp.env()...)
	c1 := startConsumer(t, tp.env(), "c1")
	startConsumer(t, tp.env(), "c2")
	codes := createURLs(t, s, 20)
	first := load(t, s, codes, 1000, nil)
	waitStored(t, tp.dbURL, first.served)

	db, err := sql.Open("pgx", tp.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(t.Context(), "LOCK TABLE events IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	second := load(t, s, codes, 1000, nil)
	var held int64
	for deadline := time.Now().Add(30 * time.Second); held == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("consumer c1 never held a batch while the events table was locked")
		}
		held = pendingOf(t, tp.shards, "worker-c1")
	}
	c1.kill()
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if first.failed+second.failed != 0 {
		t.Errorf("%d redirects failed, want none", first.failed+second.failed)
	}
	waitStored(t, tp.dbURL, first.served+second.served)
	// The killed consumer's own insert may still commit once the lock is
	// released (PostgreSQL finishes a statement whose client has gone), so
	// the clicks can be stored before c2 claims the entries: wait for the
	// claim rather than read the pending count once.
	n := pendingOf(t, tp.shards, "worker-c1")
	for deadline := time.Now().Add(30 * time.Second); n != 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		n = pendingOf(t, tp.shards, "worker-c1")
	}
	if n != 0 {
		t.Errorf("%d entries still pending for the killed consumer, want them claimed", n)
	}
	t.Logf("consumer c1 was killed holding %d read, unstored clicks; all %d clicks stored once", held, first.served+second.served)
}
