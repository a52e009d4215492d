package core

import (
	"slices"
	"strings"
)

// Tags label links (issue 19) for filtering GET /urls. A tag is 1 to
// MaxTagLen characters of a-z, 0-9, "-" and "_", compared in lower case
// (a tag given as "News" is stored as "news"); a link has at most MaxTags
// distinct tags, kept sorted.
const (
	MaxTags   = 10
	MaxTagLen = 32
)

// msgTags refuses a tag list that breaks the rules.
const msgTags = "Field 'tags' must hold at most 10 tags of 1 to 32 letters, digits, '-' or '_'"

// NormaliseTags trims, lower-cases, de-duplicates and sorts tags, and
// reports whether they follow the rules. An empty list is no tags (nil).
func NormaliseTags(tags []string) ([]string, bool) {
	var out []string
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || len(t) > MaxTagLen {
			return nil, false
		}
		for i := 0; i < len(t); i++ {
			if c := t[i]; !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
				return nil, false
			}
		}
		out = append(out, t)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, false
	}
	return out, true
}

// checkTags normalises the tags of a request.
func checkTags(tags []string) ([]string, error) {
	out, ok := NormaliseTags(tags)
	if !ok {
		return nil, invalid("tags", msgTags)
	}
	return out, nil
}
