package pycompat

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseJSONRoundTrip(t *testing.T) {
	// want values are what Python's json.dumps(json.loads(in)) and the
	// API's sorted compact form print.
	tests := []struct {
		name, in, python, sorted string
	}{
		{"object order kept", `{"b":1,"a":[true,false,null]}`, `{"b": 1, "a": [true, false, null]}`, `{"a":[true,false,null],"b":1}`},
		{"nested sort", `{"z":{"y":1,"x":2},"a":{}}`, `{"z": {"y": 1, "x": 2}, "a": {}}`, `{"a":{},"z":{"x":2,"y":1}}`},
		{"duplicate key keeps first position, last value", `{"a":1,"b":2,"a":3}`, `{"a": 3, "b": 2}`, `{"a":3,"b":2}`},
		{"whitespace", " \t\n\r{ \"a\" : [ 1 , 2 ] }\n", `{"a": [1, 2]}`, `{"a":[1,2]}`},
		{"unicode escaped", `"Ünïcode <b> & 'q'"`, `"\u00dcn\u00efcode <b> & 'q'"`, `"\u00dcn\u00efcode <b> & 'q'"`},
		{"astral as surrogates", `"😀"`, `"\ud83d\ude00"`, `"\ud83d\ude00"`},
		{"escaped surrogate pair", `"\ud83d\ude00"`, `"\ud83d\ude00"`, `"\ud83d\ude00"`},
		{"controls", `"a\u0000b\u007f\t\n\r\b\f\"\\\/"`, `"a\u0000b\u007f\t\n\r\b\f\"\\/"`, `"a\u0000b\u007f\t\n\r\b\f\"\\/"`},
		{"integers", `[0,-0,12,-7,123456789012345678901234567890]`, `[0, 0, 12, -7, 123456789012345678901234567890]`, `[0,0,12,-7,123456789012345678901234567890]`},
		{"float 1.0", `1.0`, `1.0`, `1.0`},
		{"float exponent", `1e3`, `1000.0`, `1000.0`},
		{"negative zero", `-0.0`, `-0.0`, `-0.0`},
		{"small fixed", `0.0001`, `0.0001`, `0.0001`},
		{"small exponent", `0.00001`, `1e-05`, `1e-05`},
		{"large exponent", `1e16`, `1e+16`, `1e+16`},
		{"large fixed", `1e15`, `1000000000000000.0`, `1000000000000000.0`},
		{"rounded", `123456789.123456789`, `123456789.12345679`, `123456789.12345679`},
		{"tiny", `1.5e-7`, `1.5e-07`, `1.5e-07`},
		{"negative big", `-2.5E+20`, `-2.5e+20`, `-2.5e+20`},
		{"denormal", `5e-324`, `5e-324`, `5e-324`},
		{"max float", `1.7976931348623157e308`, `1.7976931348623157e+308`, `1.7976931348623157e+308`},
		{"17 digits", `12345678901234567.0`, `1.2345678901234568e+16`, `1.2345678901234568e+16`},
		{"ten e minus one", `10E-1`, `1.0`, `1.0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseJSON([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseJSON(%q) error %v", tt.in, err)
			}
			if got := string(v.AppendPython(nil)); got != tt.python {
				t.Errorf("AppendPython = %s, want %s", got, tt.python)
			}
			if got := string(v.AppendSorted(nil)); got != tt.sorted {
				t.Errorf("AppendSorted = %s, want %s", got, tt.sorted)
			}
		})
	}
}

func TestParseJSONLargeObjectDuplicates(t *testing.T) {
	// Past a few members the parser indexes keys; a repeated key must
	// still keep its first position and its last value.
	var in, want strings.Builder
	in.WriteString(`{`)
	want.WriteString(`{`)
	for i := range 40 {
		if i > 0 {
			in.WriteString(`,`)
			want.WriteString(`, `)
		}
		fmt.Fprintf(&in, `"k%d":%d`, i, i)
		n := i
		if i == 3 || i == 30 {
			n = -i
		}
		fmt.Fprintf(&want, `"k%d": %d`, i, n)
	}
	in.WriteString(`,"k3":-3,"k30":1,"k30":-30}`)
	want.WriteString(`}`)
	v, err := ParseJSON([]byte(in.String()))
	if err != nil {
		t.Fatalf("ParseJSON error %v", err)
	}
	if got := string(v.AppendPython(nil)); got != want.String() {
		t.Errorf("AppendPython = %s, want %s", got, want.String())
	}
}

func TestParseJSONRejects(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `{"original_url": `, `[1,]`, `{"a":1,}`, `{'a':1}`, `01`, `1.`, `.5`, `1e`, `+1`, `-`,
		`NaN`, `Infinity`, `-Infinity`, `1e400`, `"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"a` + "\x01" + `"`,
		`"\x"`, `"\u12"`, `tru`, `nul`, `[1] [2]`, "\"\xff\"", "{\"a\":\"\xc3\"}", `{"a" 1}`, `{1:2}`,
		strings.Repeat("[", 600) + strings.Repeat("]", 600),
	} {
		if v, err := ParseJSON([]byte(in)); !errors.Is(err, ErrMalformedJSON) {
			t.Errorf("ParseJSON(%q) = %v, %v; want ErrMalformedJSON", in, v, err)
		}
	}
}

// TestParseJSONLimits checks that a document refused for a limit, not its
// syntax, says which: the API tells its client so instead of reading no
// body.
func TestParseJSONLimits(t *testing.T) {
	deep := strings.Repeat("[", 600) + strings.Repeat("]", 600)
	tests := []struct {
		in   string
		want error
	}{
		{`1e400`, ErrNumberRange},
		{`-1e400`, ErrNumberRange},
		{`{"a":[1,2e308],"b":"x"}`, ErrNumberRange},
		{`{"a":1e400`, ErrMalformedJSON}, // malformed first: no body
		{`[1e400,]`, ErrMalformedJSON},
		{deep, ErrTooDeep},
		{`{"a":` + deep + `}`, ErrTooDeep},
		{`NaN`, ErrNonFinite},
		{`{"v":[Infinity,-Infinity],"w":"x"}`, ErrNonFinite},
		{`{"v":NaN`, ErrMalformedJSON},
		{`[-Inf]`, ErrMalformedJSON},
		{`[nan]`, ErrMalformedJSON},
		{`"\ud800"`, ErrLoneSurrogate},
		{`{"a":"x\udc00y"}`, ErrLoneSurrogate},
		{`"\ud800\u0041"`, ErrLoneSurrogate}, // the escape after it read on its own
		{`"\ud800\u00"`, ErrMalformedJSON},
		{`["\ud800",1e400]`, ErrNumberRange},
	}
	limits := []error{ErrNumberRange, ErrTooDeep, ErrNonFinite, ErrLoneSurrogate}
	for _, tt := range tests {
		_, err := ParseJSON([]byte(tt.in))
		if !errors.Is(err, tt.want) || (tt.want == ErrMalformedJSON && slices.ContainsFunc(limits, func(l error) bool { return errors.Is(err, l) })) {
			t.Errorf("ParseJSON(%.40q) = %v, want %v", tt.in, err, tt.want)
		}
	}
	if _, err := ParseJSON([]byte(strings.Repeat("[", 512) + strings.Repeat("]", 512))); err != nil {
		t.Errorf("512 levels: %v", err)
	}
	if v, err := ParseJSON([]byte(`1e-400`)); err != nil || v.Text != "0.0" {
		t.Errorf("1e-400 = %+v, %v; want 0.0", v, err)
	}
}

func TestDecodeJSONBytes(t *testing.T) {
	// The inputs are `{"a":"é😀"}` as Python's json.loads reads them:
	// codecs.encode(text, enc) for each encoding json.detect_encoding
	// detects, with and without a byte order mark.
	const text = `{"a":"é😀"}`
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"utf-8", text, true},
		{"utf-8-sig", "\xef\xbb\xbf" + text, true},
		{"utf-16 (le, bom)", "\xff\xfe{\x00\"\x00a\x00\"\x00:\x00\"\x00\xe9\x00=\xd8\x00\xde\"\x00}\x00", true},
		{"utf-16 (be, bom)", "\xfe\xff\x00{\x00\"\x00a\x00\"\x00:\x00\"\x00\xe9\xd8=\xde\x00\x00\"\x00}", true},
		{"utf-16-le", "{\x00\"\x00a\x00\"\x00:\x00\"\x00\xe9\x00=\xd8\x00\xde\"\x00}\x00", true},
		{"utf-16-be", "\x00{\x00\"\x00a\x00\"\x00:\x00\"\x00\xe9\xd8=\xde\x00\x00\"\x00}", true},
		{"utf-32 (le, bom)", "\xff\xfe\x00\x00{\x00\x00\x00\"\x00\x00\x00a\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00\"\x00\x00\x00\xe9\x00\x00\x00\x00\xf6\x01\x00\"\x00\x00\x00}\x00\x00\x00", true},
		{"utf-32-be", "\x00\x00\x00{\x00\x00\x00\"\x00\x00\x00a\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00\"\x00\x00\x00\xe9\x00\x01\xf6\x00\x00\x00\x00\"\x00\x00\x00}", true},
		{"utf-32-le", "{\x00\x00\x00\"\x00\x00\x00a\x00\x00\x00\"\x00\x00\x00:\x00\x00\x00\"\x00\x00\x00\xe9\x00\x00\x00\x00\xf6\x01\x00\"\x00\x00\x00}\x00\x00\x00", true},
		{"utf-16-le, odd length", "{\x00}\x00}", false},
		// Python keeps a lone surrogate (surrogatepass), which the
		// reference then failed to store; Curtain refuses it here.
		{"utf-16-le, lone surrogate", "\"\x00=\xd8\"\x00", false},
		{"utf-32-le, beyond unicode", "1\x00\x00\x00\x00\x00\x11\x00", false},
	}
	for _, tt := range tests {
		got, ok := DecodeJSONBytes([]byte(tt.in))
		switch {
		case ok != tt.ok:
			t.Errorf("%s: DecodeJSONBytes(%q) ok = %v, want %v", tt.name, tt.in, ok, tt.ok)
		case ok && string(got) != text:
			t.Errorf("%s: DecodeJSONBytes(%q) = %q, want %q", tt.name, tt.in, got, text)
		}
	}
	// Fewer than four bytes with a NUL in the middle are UTF-8 to Python
	// (and then malformed JSON).
	if got, ok := DecodeJSONBytes([]byte("{\x00}")); !ok || string(got) != "{\x00}" {
		t.Errorf("DecodeJSONBytes(%q) = %q, %v; want it unchanged", "{\x00}", got, ok)
	}
}

func TestTruthy(t *testing.T) {
	tests := map[string]bool{
		`null`: false, `false`: false, `true`: true, `0`: false, `-0`: false, `0.0`: false, `-0.0`: false, `0e5`: false,
		`1`: true, `0.5`: true, `""`: false, `" "`: true, `[]`: false, `[0]`: true, `{}`: false, `{"a":0}`: true,
	}
	for in, want := range tests {
		v, err := ParseJSON([]byte(in))
		if err != nil {
			t.Fatalf("ParseJSON(%q): %v", in, err)
		}
		if got := v.Truthy(); got != want {
			t.Errorf("Truthy(%s) = %v, want %v", in, got, want)
		}
	}
}

func TestInt64(t *testing.T) {
	tests := []struct {
		in                string
		n                 int64
		isInt, overflowed bool
	}{
		{`7`, 7, true, false},
		{`-9223372036854775808`, -9223372036854775808, true, false},
		{`9223372036854775808`, 0, true, true},
		{`1.0`, 0, false, false},
		{`1e3`, 0, false, false},
		{`true`, 0, false, false},
		{`"1"`, 0, false, false},
		{`null`, 0, false, false},
	}
	for _, tt := range tests {
		v, _ := ParseJSON([]byte(tt.in))
		n, isInt, overflow := v.Int64()
		if n != tt.n || isInt != tt.isInt || overflow != tt.overflowed {
			t.Errorf("Int64(%s) = %d, %v, %v; want %d, %v, %v", tt.in, n, isInt, overflow, tt.n, tt.isInt, tt.overflowed)
		}
	}
}

func TestAppendJSONStringInvalidUTF8(t *testing.T) {
	if got := string(AppendJSONString(nil, "a\xffb")); got != `"a\ufffdb"` {
		t.Errorf("AppendJSONString(invalid) = %s", got)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, seed := range []string{`{"a":[1,2.5,"x"]}`, `"\ud83d\ude00"`, `-0.0`, `{"a":1,"a":2}`, `[[[]]]`, `1e-7`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseJSON(data)
		if err != nil {
			return
		}
		// Both renderings must parse back to the same sorted form.
		sorted := v.AppendSorted(nil)
		for _, out := range [][]byte{sorted, v.AppendPython(nil)} {
			w, err := ParseJSON(out)
			if err != nil {
				t.Fatalf("re-parse of %q: %v", out, err)
			}
			if got := w.AppendSorted(nil); string(got) != string(sorted) {
				t.Fatalf("round trip changed %q to %q", sorted, got)
			}
		}
	})
}
