package logpace

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	var p Pacer
	t0 := time.Unix(1700000000, 0)
	steps := []struct {
		at     time.Duration
		wantN  int
		wantOK bool
	}{
		{0, 1, true},
		{100 * time.Millisecond, 0, false},
		{900 * time.Millisecond, 0, false},
		{1100 * time.Millisecond, 3, true},
		{1200 * time.Millisecond, 0, false},
	}
	for _, s := range steps {
		n, ok := p.Ready(t0.Add(s.at), time.Second)
		if n != s.wantN || ok != s.wantOK {
			t.Errorf("ready at %v = %d, %v; want %d, %v", s.at, n, ok, s.wantN, s.wantOK)
		}
	}
}

// TestKeyed: each key is paced on its own.
func TestKeyed(t *testing.T) {
	var k Keyed
	t0 := time.Unix(1700000000, 0)
	if n, ok := k.Ready("a", t0, time.Second); n != 1 || !ok {
		t.Errorf("first of a = %d, %v; want 1, true", n, ok)
	}
	if n, ok := k.Ready("b", t0.Add(time.Millisecond), time.Second); n != 1 || !ok {
		t.Errorf("first of b while a waits = %d, %v; want 1, true", n, ok)
	}
	if _, ok := k.Ready("a", t0.Add(2*time.Millisecond), time.Second); ok {
		t.Error("second of a within the interval was let through")
	}
	if n, ok := k.Ready("a", t0.Add(time.Second), time.Second); n != 2 || !ok {
		t.Errorf("a after the interval = %d, %v; want 2, true", n, ok)
	}
}
