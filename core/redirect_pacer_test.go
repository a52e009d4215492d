package core

import (
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	var p pacer
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
		n, ok := p.ready(t0.Add(s.at), time.Second)
		if n != s.wantN || ok != s.wantOK {
			t.Errorf("ready at %v = %d, %v; want %d, %v", s.at, n, ok, s.wantN, s.wantOK)
		}
	}
}
