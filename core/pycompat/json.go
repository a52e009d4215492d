package pycompat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// JSONKind is the type of a JSONValue.
type JSONKind uint8

// The kinds of JSON values.
const (
	JSONNull JSONKind = iota
	JSONBool
	JSONNumber
	JSONString
	JSONArray
	JSONObject
)

// JSONValue is a parsed JSON document that keeps what the reference
// implementation keeps: object members in document order (so that stored
// text is written the way Python's json.dumps writes it) and numbers as the
// text Python would print for them (an integer's digits, or the repr of a
// float), so that a value read from a client and written back is
// byte-for-byte what the reference would produce.
//
// The zero value is JSON null.
type JSONValue struct {
	Kind JSONKind
	// Bool is the value of a JSONBool.
	Bool bool
	// Text is the value of a JSONString, or the canonical text of a
	// JSONNumber ("12", "-3", "1.5", "1e+16").
	Text string
	// Integer reports whether a JSONNumber was written without fraction or
	// exponent, which is what makes it an integer for the API.
	Integer bool
	// Items are the elements of a JSONArray.
	Items []JSONValue
	// Members are the members of a JSONObject in document order, each key
	// once (a repeated key keeps its first position and its last value).
	Members []JSONMember
}

// JSONMember is one key and value of a JSON object.
type JSONMember struct {
	Key   string
	Value JSONValue
}

// ErrMalformedJSON reports a document ParseJSON rejects.
var ErrMalformedJSON = errors.New("malformed JSON")

// The documents ParseJSON refuses for its limits rather than their syntax,
// each wrapping ErrMalformedJSON so that callers not asking see a
// malformed document. ErrNumberRange is a document well-formed in every
// other way that holds a number too large for a float (1e400, which Python
// reads as infinity); ErrNonFinite one that holds NaN, Infinity or
// -Infinity, which JSON does not have and Python's json.loads takes;
// ErrLoneSurrogate one with a \u escape of a UTF-16 surrogate that is not
// half of a pair, which Python keeps and no UTF-8 text can hold;
// ErrTooDeep one nested more than 512 levels deep.
var (
	ErrNumberRange   = fmt.Errorf("%w: number out of range", ErrMalformedJSON)
	ErrNonFinite     = fmt.Errorf("%w: NaN or Infinity", ErrMalformedJSON)
	ErrLoneSurrogate = fmt.Errorf("%w: lone surrogate escape", ErrMalformedJSON)
	ErrTooDeep       = fmt.Errorf("%w: nested too deeply", ErrMalformedJSON)
)

// maxJSONDepth bounds nesting so that a hostile document cannot exhaust the
// stack; deeper documents are rejected as malformed.
const maxJSONDepth = 512

// ParseJSON parses one JSON document (RFC 8259) with surrounding JSON
// whitespace. It rejects invalid UTF-8 and unescaped control characters
// as ErrMalformedJSON; numbers too large for a float, NaN and Infinity,
// escapes of lone UTF-16 surrogates and nesting deeper than 512 levels as
// ErrNumberRange, ErrNonFinite, ErrLoneSurrogate and ErrTooDeep.
func ParseJSON(data []byte) (JSONValue, error) {
	if !utf8.Valid(data) {
		return JSONValue{}, ErrMalformedJSON
	}
	p := jsonParser{data: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return JSONValue{}, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return JSONValue{}, ErrMalformedJSON
	}
	switch {
	case p.outOfRange:
		return JSONValue{}, ErrNumberRange
	case p.nonFinite:
		return JSONValue{}, ErrNonFinite
	case p.loneSurrogate:
		return JSONValue{}, ErrLoneSurrogate
	}
	return v, nil
}

// DecodeJSONBytes returns a JSON document given as bytes in UTF-8, the way
// Python's json.loads reads bytes (json.detect_encoding): a UTF-32 or
// UTF-16 byte order mark selects that encoding, a UTF-8 one is dropped,
// and without a mark the NUL bytes among the first four tell UTF-16 and
// UTF-32 (big or little endian) from UTF-8. ok is false when the bytes do
// not decode in the detected encoding, lone surrogates included; UTF-8 is
// returned as is, for ParseJSON to check.
func DecodeJSONBytes(data []byte) (utf8Text []byte, ok bool) {
	switch {
	case bytes.HasPrefix(data, []byte{0, 0, 0xfe, 0xff}):
		return decodeUTF32(data[4:], binary.BigEndian)
	case bytes.HasPrefix(data, []byte{0xff, 0xfe, 0, 0}):
		return decodeUTF32(data[4:], binary.LittleEndian)
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return decodeUTF16(data[2:], binary.BigEndian)
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		return decodeUTF16(data[2:], binary.LittleEndian)
	case bytes.HasPrefix(data, []byte{0xef, 0xbb, 0xbf}):
		return data[3:], true
	}
	switch {
	case len(data) >= 4 && data[0] == 0 && data[1] != 0:
		return decodeUTF16(data, binary.BigEndian)
	case len(data) >= 4 && data[0] == 0:
		return decodeUTF32(data, binary.BigEndian)
	case len(data) >= 4 && data[1] == 0 && (data[2] != 0 || data[3] != 0):
		return decodeUTF16(data, binary.LittleEndian)
	case len(data) >= 4 && data[1] == 0:
		return decodeUTF32(data, binary.LittleEndian)
	case len(data) == 2 && data[0] == 0:
		return decodeUTF16(data, binary.BigEndian)
	case len(data) == 2 && data[1] == 0:
		return decodeUTF16(data, binary.LittleEndian)
	}
	return data, true
}

// decodeUTF16 converts UTF-16 in the byte order to UTF-8; a lone
// surrogate fails.
func decodeUTF16(data []byte, order binary.ByteOrder) ([]byte, bool) {
	if len(data)%2 != 0 {
		return nil, false
	}
	out := make([]byte, 0, len(data)/2)
	for i := 0; i < len(data); i += 2 {
		r := rune(order.Uint16(data[i:]))
		if utf16.IsSurrogate(r) {
			if i+4 > len(data) {
				return nil, false
			}
			if r = utf16.DecodeRune(r, rune(order.Uint16(data[i+2:]))); r == utf8.RuneError {
				return nil, false
			}
			i += 2
		}
		out = utf8.AppendRune(out, r)
	}
	return out, true
}

// decodeUTF32 converts UTF-32 in the byte order to UTF-8; a surrogate or
// a value past U+10FFFF fails.
func decodeUTF32(data []byte, order binary.ByteOrder) ([]byte, bool) {
	if len(data)%4 != 0 {
		return nil, false
	}
	out := make([]byte, 0, len(data)/4)
	for i := 0; i < len(data); i += 4 {
		u := order.Uint32(data[i:])
		if u > unicode.MaxRune || utf16.IsSurrogate(rune(u)) {
			return nil, false
		}
		out = utf8.AppendRune(out, rune(u))
	}
	return out, true
}

// Get returns the value of an object member.
func (v JSONValue) Get(key string) (JSONValue, bool) {
	for i := range v.Members {
		if v.Members[i].Key == key {
			return v.Members[i].Value, true
		}
	}
	return JSONValue{}, false
}

// Truthy reports whether Python would consider the value true: null,
// false, zero, "" and empty containers are false.
func (v JSONValue) Truthy() bool {
	switch v.Kind {
	case JSONBool:
		return v.Bool
	case JSONNumber:
		return v.Text != "0" && v.Text != "0.0" && v.Text != "-0.0"
	case JSONString:
		return v.Text != ""
	case JSONArray:
		return len(v.Items) > 0
	case JSONObject:
		return len(v.Members) > 0
	}
	return false
}

// Int64 returns the value of an integer number. ok is false for anything
// but an integer; overflow reports an integer outside the int64 range.
func (v JSONValue) Int64() (n int64, ok, overflow bool) {
	if v.Kind != JSONNumber || !v.Integer {
		return 0, false, false
	}
	n, err := strconv.ParseInt(v.Text, 10, 64)
	if err != nil {
		return 0, true, true
	}
	return n, true, false
}

// AppendSorted appends v in the API's form (spec §2.1): compact, object
// keys sorted by byte order at every level, non-ASCII escaped.
func (v JSONValue) AppendSorted(dst []byte) []byte { return v.appendLayout(dst, &apiLayout) }

// AppendPython appends v as Python's json.dumps writes it with default
// settings: members in document order, ", " and ": " separators, non-ASCII
// escaped. It is the form of stored event details and cached values.
func (v JSONValue) AppendPython(dst []byte) []byte { return v.appendLayout(dst, &pythonLayout) }

// jsonLayout is how a JSONValue is written: its separators and whether
// object keys are sorted. Scalars are written the same in every layout.
type jsonLayout struct {
	comma, colon string
	sorted       bool
}

var (
	apiLayout    = jsonLayout{comma: ",", colon: ":", sorted: true}
	pythonLayout = jsonLayout{comma: ", ", colon: ": "}
)

func (v JSONValue) appendLayout(dst []byte, l *jsonLayout) []byte {
	switch v.Kind {
	case JSONNull:
		return append(dst, "null"...)
	case JSONBool:
		return strconv.AppendBool(dst, v.Bool)
	case JSONNumber:
		return append(dst, v.Text...)
	case JSONString:
		return AppendJSONString(dst, v.Text)
	case JSONArray:
		dst = append(dst, '[')
		for i := range v.Items {
			if i > 0 {
				dst = append(dst, l.comma...)
			}
			dst = v.Items[i].appendLayout(dst, l)
		}
		return append(dst, ']')
	}
	var order []int // member positions in key order, when sorting moves them
	if l.sorted && !slices.IsSortedFunc(v.Members, func(a, b JSONMember) int { return strings.Compare(a.Key, b.Key) }) {
		order = make([]int, len(v.Members))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(v.Members[a].Key, v.Members[b].Key) })
	}
	dst = append(dst, '{')
	for i := range v.Members {
		if i > 0 {
			dst = append(dst, l.comma...)
		}
		m := &v.Members[i]
		if order != nil {
			m = &v.Members[order[i]]
		}
		dst = AppendJSONString(dst, m.Key)
		dst = append(dst, l.colon...)
		dst = m.Value.appendLayout(dst, l)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string the way Python's json module
// does with ensure_ascii: printable ASCII stays, `"` and `\` and the
// control characters with a short form use it, everything else becomes
// \uXXXX (lower-case hex, UTF-16 surrogate pairs above U+FFFF). `<`, `>`,
// `&` and `'` are not escaped. s must be valid UTF-8; invalid bytes are
// written as U+FFFD.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = appendUnicodeEscape(dst, rune(c))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			dst = appendUnicodeEscape(dst, hi)
			dst = appendUnicodeEscape(dst, lo)
		} else {
			dst = appendUnicodeEscape(dst, r)
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendUnicodeEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u',
		hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// jsonParser is a recursive-descent parser over a validated UTF-8 buffer.
type jsonParser struct {
	data []byte
	pos  int
	// outOfRange, nonFinite and loneSurrogate record what Python reads
	// and Curtain refuses (see ErrNumberRange), reported once the rest of
	// the document has proved well-formed.
	outOfRange, nonFinite, loneSurrogate bool
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) literal(word string) bool {
	if bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *jsonParser) value(depth int) (JSONValue, error) {
	if depth > maxJSONDepth {
		return JSONValue{}, ErrTooDeep
	}
	if p.pos >= len(p.data) {
		return JSONValue{}, ErrMalformedJSON
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return JSONValue{Kind: JSONString, Text: s}, err
	case c == 't':
		if p.literal("true") {
			return JSONValue{Kind: JSONBool, Bool: true}, nil
		}
	case c == 'f':
		if p.literal("false") {
			return JSONValue{Kind: JSONBool}, nil
		}
	case c == 'n':
		if p.literal("null") {
			return JSONValue{}, nil
		}
	case c == 'N' || c == 'I' || (c == '-' && p.pos+1 < len(p.data) && p.data[p.pos+1] == 'I'):
		start := p.pos
		if p.literal("NaN") || p.literal("Infinity") || p.literal("-Infinity") {
			p.nonFinite = true
			return JSONValue{Kind: JSONNumber, Text: string(p.data[start:p.pos])}, nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return JSONValue{}, ErrMalformedJSON
}

func (p *jsonParser) object(depth int) (JSONValue, error) {
	v := JSONValue{Kind: JSONObject, Members: []JSONMember{}}
	var index memberIndex
	for more := p.open('}'); more; {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return JSONValue{}, ErrMalformedJSON
		}
		key, err := p.str()
		if err != nil {
			return JSONValue{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return JSONValue{}, ErrMalformedJSON
		}
		p.pos++
		p.skipSpace()
		val, err := p.value(depth + 1)
		if err != nil {
			return JSONValue{}, err
		}
		if i, ok := index.find(v.Members, key); ok {
			v.Members[i].Value = val
		} else {
			v.Members = append(v.Members, JSONMember{Key: key, Value: val})
			index.add(v.Members)
		}
		if more, err = p.next('}'); err != nil {
			return JSONValue{}, err
		}
	}
	return v, nil
}

// memberIndex finds the members of an object being parsed by key. A small
// object is scanned; a large one gets a map, so that a body of many keys
// parses in linear time rather than quadratic.
type memberIndex map[string]int

// indexAfter is the member count above which an object is indexed.
const indexAfter = 16

// find returns the position of key among members.
func (m memberIndex) find(members []JSONMember, key string) (int, bool) {
	if m != nil {
		i, ok := m[key]
		return i, ok
	}
	for i := range members {
		if members[i].Key == key {
			return i, true
		}
	}
	return 0, false
}

// add records the last of members, indexing them all once there are more
// than indexAfter.
func (m *memberIndex) add(members []JSONMember) {
	switch {
	case *m != nil:
		(*m)[members[len(members)-1].Key] = len(members) - 1
	case len(members) > indexAfter:
		*m = make(memberIndex, 2*len(members))
		for i := range members {
			(*m)[members[i].Key] = i
		}
	}
}

func (p *jsonParser) array(depth int) (JSONValue, error) {
	v := JSONValue{Kind: JSONArray, Items: []JSONValue{}}
	for more := p.open(']'); more; {
		p.skipSpace()
		item, err := p.value(depth + 1)
		if err != nil {
			return JSONValue{}, err
		}
		v.Items = append(v.Items, item)
		if more, err = p.next(']'); err != nil {
			return JSONValue{}, err
		}
	}
	return v, nil
}

// open consumes the opening bracket of a container and reports whether
// an element follows: false when the container closes at once with end.
func (p *jsonParser) open(end byte) bool {
	p.pos++
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == end {
		p.pos++
		return false
	}
	return true
}

// next consumes what follows a container element: a comma (another
// element follows) or end (the container is closed).
func (p *jsonParser) next(end byte) (more bool, err error) {
	p.skipSpace()
	if p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ',':
			p.pos++
			return true, nil
		case end:
			p.pos++
			return false, nil
		}
	}
	return false, ErrMalformedJSON
}

// str parses a string starting at the opening quote.
func (p *jsonParser) str() (string, error) {
	p.pos++ // "
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", ErrMalformedJSON
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", ErrMalformedJSON
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++ // backslash
		if p.pos >= len(p.data) {
			return "", ErrMalformedJSON
		}
		e := p.data[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", ErrMalformedJSON
			}
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed by an escaped low
				// surrogate forms a character; the escape after a
				// lone one is read on its own.
				lo, paired := p.lowSurrogate(r)
				if !paired {
					p.loneSurrogate = true
					r = utf8.RuneError
				} else {
					r = utf16.DecodeRune(r, lo)
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", ErrMalformedJSON
		}
	}
	return "", ErrMalformedJSON
}

// lowSurrogate reads the escaped low surrogate that pairs with the
// surrogate hi, if it comes next; otherwise it reads nothing.
func (p *jsonParser) lowSurrogate(hi rune) (rune, bool) {
	if hi >= 0xdc00 || !bytes.HasPrefix(p.data[p.pos:], []byte(`\u`)) {
		return 0, false
	}
	start := p.pos
	p.pos += 2
	lo, ok := p.hex4()
	if !ok || lo < 0xdc00 || lo > 0xdfff {
		p.pos = start
		return 0, false
	}
	return lo, true
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.pos += 4
	return r, true
}

// number parses a JSON number and canonicalises it as Python prints it.
func (p *jsonParser) number() (JSONValue, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.pos >= len(p.data) {
		return JSONValue{}, ErrMalformedJSON
	}
	if p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return JSONValue{}, ErrMalformedJSON
	}
	integer := true
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		integer = false
		if digits() == 0 {
			return JSONValue{}, ErrMalformedJSON
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		integer = false
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return JSONValue{}, ErrMalformedJSON
		}
	}
	text := string(p.data[start:p.pos])
	if integer {
		if text == "-0" {
			text = "0"
		}
		return JSONValue{Kind: JSONNumber, Text: text, Integer: true}, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if math.IsInf(f, 0) {
		p.outOfRange = true
		return JSONValue{Kind: JSONNumber, Text: text}, nil
	}
	if err != nil {
		return JSONValue{}, ErrMalformedJSON
	}
	return JSONValue{Kind: JSONNumber, Text: pyFloatRepr(f)}, nil
}

// pyFloatRepr formats f as Python's repr(float) does: the shortest digits
// that round-trip, in positional notation with at least one fractional
// digit when the decimal exponent is in [-4, 16), else as d.ddde±XX.
func pyFloatRepr(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mant, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	switch {
	case decpt <= -4 || decpt > 16:
		b.WriteByte(digits[0])
		if len(digits) > 1 {
			b.WriteByte('.')
			b.WriteString(digits[1:])
		}
		b.WriteByte('e')
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		if exp < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(exp))
	case decpt <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -decpt))
		b.WriteString(digits)
	case decpt >= len(digits):
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", decpt-len(digits)))
		b.WriteString(".0")
	default:
		b.WriteString(digits[:decpt])
		b.WriteByte('.')
		b.WriteString(digits[decpt:])
	}
	return b.String()
}
