package storetest

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

// BenchInsertClicks measures InsertClicks with batches of batch clicks
// spread over 100 URLs, as the consumer sends them, and reports the cost
// per stored event (ns/event).
func BenchInsertClicks(b *testing.B, s core.Store, batch int) {
	ctx := b.Context()
	ids := make([]int64, 100)
	for i := range ids {
		u := core.URL{ShortCode: fmt.Sprintf("bench%03d", i), OriginalURL: fmt.Sprintf("https://example.com/%d", i), IsActive: true}
		if err := s.CreateURL(ctx, &u, nil); err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	clicks := make([]core.ClickEvent, batch)
	at := time.Now().UTC()
	n := 0
	for b.Loop() {
		for i := range clicks {
			n++
			url := ids[n%len(ids)]
			clicks[i] = core.ClickEvent{
				Click: core.Click{ID: fmt.Sprintf("%032x", n), Code: fmt.Sprintf("bench%03d", n%len(ids)), Visitor: "10.0.0.1", At: at, URLID: url},
				Shard: "shard0",
			}
		}
		got, err := s.InsertClicks(ctx, clicks)
		if err != nil || got != batch {
			b.Fatalf("InsertClicks = %d, %v, want %d", got, err, batch)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// FillURLs imports n more links (ids from 1,000,001), so that a
// benchmark runs beside a table of realistic size.
func FillURLs(b testing.TB, s core.Store, n int) {
	b.Helper()
	urls := make([]core.URL, n)
	at := time.Now().UTC().Truncate(time.Second)
	for i := range urls {
		id := int64(1_000_001 + i)
		urls[i] = core.URL{ID: id, ShortCode: fmt.Sprintf("fill%07d", i), OriginalURL: fmt.Sprintf("https://fill.example/%d", i), IsActive: true, CreatedAt: at, UpdatedAt: at}
	}
	if _, err := s.Import(b.Context(), core.Import{URLs: urls}); err != nil {
		b.Fatal(err)
	}
}

// BenchCreateURLs runs CreateOrFindURL from 32 goroutines, each creating
// a new link with its created event, and reports creates per second.
func BenchCreateURLs(b *testing.B, s core.Store) {
	var next atomic.Int64
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			u := core.URL{ShortCode: fmt.Sprintf("c%07d", n), OriginalURL: fmt.Sprintf("https://example.com/%d", n), IsActive: true}
			ev := core.Event{EventType: core.EventCreated, Details: "{}"}
			if found, err := s.CreateOrFindURL(b.Context(), &u, &ev); err != nil || found {
				b.Fatalf("CreateOrFindURL = %v, %v", found, err)
			}
		}
	})
	b.ReportMetric(float64(next.Load())/b.Elapsed().Seconds(), "creates/s")
}

// BenchGetURLByCode reads links by code from 32 goroutines, beside
// FillURLs' 100,000 links, as redirects that miss the caches read them,
// and reports reads per second.
func BenchGetURLByCode(b *testing.B, s core.Store) {
	const n = 100_000
	FillURLs(b, s, n)
	var next atomic.Int64
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(7919) % n // spread over the table
			if _, err := s.GetURLByCode(b.Context(), fmt.Sprintf("fill%07d", i)); err != nil {
				b.Fatalf("GetURLByCode = %v", err)
			}
		}
	})
	b.ReportMetric(float64(next.Load()/7919)/b.Elapsed().Seconds(), "reads/s")
}
