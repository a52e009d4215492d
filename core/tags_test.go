package core

import (
	"slices"
	"strings"
	"testing"
)

func TestNormaliseTags(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
		ok   bool
	}{
		{nil, nil, true},
		{[]string{" News ", "sport", "news"}, []string{"news", "sport"}, true},
		{[]string{"a_b", "a-b"}, []string{"a-b", "a_b"}, true},
		{[]string{""}, nil, false},
		{[]string{"a b"}, nil, false},
		{[]string{"café"}, nil, false},
		{[]string{strings.Repeat("x", 33)}, nil, false},
		{strings.Split("1,2,3,4,5,6,7,8,9,10,10", ","), strings.Split("1,10,2,3,4,5,6,7,8,9", ","), true},
		{strings.Split("1,2,3,4,5,6,7,8,9,10,11", ","), nil, false},
	}
	for _, tt := range tests {
		got, ok := NormaliseTags(tt.in)
		if ok != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("NormaliseTags(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzCustomCodeAndTags(f *testing.F) {
	for _, s := range []string{"my-link", "URLS", "ab", "a/b", "news,Sport,news", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkCustomCode(s) == nil {
			// An accepted slug needs no escaping and is no reserved word.
			for _, w := range ReservedCodes {
				if strings.EqualFold(s, w) {
					t.Fatalf("slug %q is reserved", s)
				}
			}
			if len(s) < MinCustomCodeLen || len(s) > MaxShortCodeLen || strings.ContainsAny(s, "/?#%. ") {
				t.Fatalf("slug %q accepted", s)
			}
		}
		tags, ok := NormaliseTags(strings.Split(s, ","))
		if !ok {
			return
		}
		// Sorted, unique, within the limits, and normalising is
		// idempotent.
		if !slices.IsSorted(tags) || len(slices.Compact(slices.Clone(tags))) != len(tags) || len(tags) > MaxTags {
			t.Fatalf("NormaliseTags(%q) = %q", s, tags)
		}
		if again, ok := NormaliseTags(tags); !ok || !slices.Equal(again, tags) {
			t.Fatalf("NormaliseTags is not idempotent on %q: %q", tags, again)
		}
	})
}
