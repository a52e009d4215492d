package pycompat

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"1", " -7 ", "1_000", "\u0663\u0664", "9223372036854775808", "_1", "1__0", "+", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok, overflow := ParseInt(s)
		if !ok && (n != 0 || overflow) {
			t.Fatalf("ParseInt(%q) = %d, %v, %v: a non-integer must be 0 without overflow", s, n, ok, overflow)
		}
		// On ASCII input without underscores Python's int() agrees with
		// strconv after stripping.
		ascii := strings.TrimSpace(s)
		if !IsASCII(s) || strings.ContainsAny(ascii, "_") || Strip(s) != ascii || strings.HasPrefix(ascii, "+-") {
			return
		}
		if strings.HasPrefix(ascii, "0x") || strings.HasPrefix(ascii, "0b") || strings.HasPrefix(ascii, "0o") {
			return // strconv with base 10 also rejects them; nothing to compare
		}
		want, err := strconv.ParseInt(ascii, 10, 64)
		var numErr *strconv.NumError
		switch {
		case err == nil:
			if !ok || overflow || n != want {
				t.Fatalf("ParseInt(%q) = %d, %v, %v; strconv says %d", s, n, ok, overflow, want)
			}
		case errors.As(err, &numErr) && numErr.Err == strconv.ErrRange && decimalDigits(strings.TrimLeft(ascii, "+-")):
			if !ok || !overflow {
				t.Fatalf("ParseInt(%q) = %d, %v, %v; want overflow", s, n, ok, overflow)
			}
		default:
			if ok {
				t.Fatalf("ParseInt(%q) = %d, ok; strconv rejects it: %v", s, n, err)
			}
		}
	})
}

// decimalDigits reports whether s is one or more ASCII digits.
func decimalDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func FuzzStrip(f *testing.F) {
	for _, s := range []string{"", " a ", "\u00a0\x1cx\u3000", "\u200bx", "\xff "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Strip(s)
		if !strings.Contains(s, got) {
			t.Fatalf("Strip(%q) = %q is not part of the input", s, got)
		}
		if r, _ := utf8.DecodeRuneInString(got); got != "" && IsSpace(r) {
			t.Fatalf("Strip(%q) = %q starts with space", s, got)
		}
		if r, _ := utf8.DecodeLastRuneInString(got); got != "" && IsSpace(r) {
			t.Fatalf("Strip(%q) = %q ends with space", s, got)
		}
	})
}

func FuzzURLSplit(f *testing.F) {
	for _, s := range []string{"http://x/a?b#c", "HTTPS://u:p@[::1]:80/p", " \x01http://x\t/", "mailto:a@b", "//x", "a:b:c", "http://[v1.x]/", "http://a]b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := URLSplit(s)
		if !ok {
			if !strings.ContainsAny(s, "[]") {
				t.Fatalf("URLSplit(%q) failed without brackets", s)
			}
			return
		}
		if strings.ContainsAny(p.Netloc, "/?#") || strings.ContainsAny(p.Path, "?#") || strings.Contains(p.Query, "#") {
			t.Fatalf("URLSplit(%q) = %+v: a separator inside a part", s, p)
		}
		if p.Scheme != strings.ToLower(p.Scheme) || (p.Scheme != "" && !validScheme(p.Scheme)) {
			t.Fatalf("URLSplit(%q) scheme %q", s, p.Scheme)
		}
		// The parts, joined back with their separators, are the input
		// without its leading controls and tab/CR/LF, up to an empty
		// query or fragment marker and the scheme's case.
		var b strings.Builder
		if p.Scheme != "" {
			b.WriteString(p.Scheme + ":")
		}
		if p.HasNetloc {
			b.WriteString("//" + p.Netloc)
		}
		b.WriteString(p.Path)
		clean := strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(strings.TrimLeft(s, leadingStripped))
		rebuilt := b.String()
		rest := clean[min(len(rebuilt), len(clean)):]
		if !strings.EqualFold(clean[:min(len(rebuilt), len(clean))], rebuilt) {
			t.Fatalf("URLSplit(%q): %q does not start the input %q", s, rebuilt, clean)
		}
		want := ""
		if strings.HasPrefix(rest, "?") {
			want = "?" + p.Query
		}
		if p.Fragment != "" || strings.Contains(rest, "#") {
			want += "#" + p.Fragment
		}
		if rest != want {
			t.Fatalf("URLSplit(%q) = %+v leaves %q, want %q", s, p, rest, want)
		}
		if strings.Contains(p.Netloc, "[") {
			_ = ValidBracketedNetloc(p.Netloc) // must not panic
		}
	})
}
