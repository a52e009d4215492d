package pycompat

import (
	"math/rand"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/quick"
	"unicode/utf8"
)

// randomDoc is a JSON document built at random for testing/quick.
type randomDoc struct{ v JSONValue }

// Generate builds a document up to four levels deep whose strings and keys
// mix ASCII, controls, quotes, non-ASCII and astral characters, and whose
// objects list their keys in random order.
func (randomDoc) Generate(r *rand.Rand, size int) reflect.Value {
	return reflect.ValueOf(randomDoc{randomValue(r, 4)})
}

var alphabet = []rune{'a', 'b', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', 0, 0x1f, 0x7f, 'é', 'ß', '€', '中', 0xffff, '😀', 0x10ffff}

func randomString(r *rand.Rand) string {
	var b strings.Builder
	for range r.Intn(6) {
		b.WriteRune(alphabet[r.Intn(len(alphabet))])
	}
	return b.String()
}

func randomValue(r *rand.Rand, depth int) JSONValue {
	kind := JSONKind(r.Intn(6))
	if depth == 0 && kind >= JSONArray {
		kind = JSONString
	}
	switch kind {
	case JSONBool:
		return JSONValue{Kind: JSONBool, Bool: r.Intn(2) == 1}
	case JSONNumber:
		if r.Intn(2) == 0 {
			return JSONValue{Kind: JSONNumber, Text: strconv.FormatInt(r.Int63()-r.Int63(), 10), Integer: true}
		}
		return JSONValue{Kind: JSONNumber, Text: pyFloatRepr(r.NormFloat64() * 1e6)}
	case JSONString:
		return JSONValue{Kind: JSONString, Text: randomString(r)}
	case JSONArray:
		v := JSONValue{Kind: JSONArray, Items: []JSONValue{}}
		for range r.Intn(4) {
			v.Items = append(v.Items, randomValue(r, depth-1))
		}
		return v
	case JSONObject:
		v := JSONValue{Kind: JSONObject, Members: []JSONMember{}}
		seen := map[string]bool{}
		for range r.Intn(5) {
			k := randomString(r)
			if !seen[k] {
				seen[k] = true
				v.Members = append(v.Members, JSONMember{Key: k, Value: randomValue(r, depth-1)})
			}
		}
		return v
	}
	return JSONValue{}
}

// keysSorted reports whether every object in v, at every level, lists its
// keys in byte order.
func keysSorted(v JSONValue) bool {
	if !slices.IsSortedFunc(v.Members, func(a, b JSONMember) int { return strings.Compare(a.Key, b.Key) }) {
		return false
	}
	for _, m := range v.Members {
		if !keysSorted(m.Value) {
			return false
		}
	}
	for _, it := range v.Items {
		if !keysSorted(it) {
			return false
		}
	}
	return true
}

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// TestEncodersPromise checks what the writers promise for any document:
// pure ASCII output in both layouts, object keys sorted at every level in
// the API layout, document order kept in Python's, and both parse back to
// the same document.
func TestEncodersPromise(t *testing.T) {
	property := func(d randomDoc) bool {
		sorted := d.v.AppendSorted(nil)
		python := d.v.AppendPython(nil)
		if !isASCIIBytes(sorted) || !isASCIIBytes(python) {
			t.Logf("non-ASCII output: %s / %s", sorted, python)
			return false
		}
		back, err := ParseJSON(sorted)
		if err != nil || !keysSorted(back) {
			t.Logf("sorted form %s: err %v, keys sorted %v", sorted, err, err == nil && keysSorted(back))
			return false
		}
		again, err := ParseJSON(python)
		if err != nil || !reflect.DeepEqual(again, d.v) {
			t.Logf("python form %s did not parse back to the document (err %v)", python, err)
			return false
		}
		return string(again.AppendSorted(nil)) == string(sorted)
	}
	if err := quick.Check(property, &quick.Config{MaxCount: 2000}); err != nil {
		t.Error(err)
	}
}
