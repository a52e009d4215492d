package core

import (
	"testing"
	"time"
)

func TestAppendTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 1, 1, 2, 0, 0, 999999999, time.UTC), "2026-01-01T02:00:00"},
		{time.Date(2025, 10, 14, 15, 7, 51, 0, time.FixedZone("x", 3600)), "2025-10-14T14:07:51"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00"},
	}
	for _, tt := range tests {
		if got := string(AppendTime(nil, tt.in)); got != tt.want {
			t.Errorf("AppendTime(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
