package hll

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestCountSmallSets(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{"empty", 0}, {"one", 1}, {"ten", 10}, {"hundred", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New()
			for i := range tt.n {
				r.Add(fmt.Appendf(nil, "visitor-%d", i))
			}
			// Small cardinalities are exact in practice with 16384 registers.
			if got := r.Count(); got != uint64(tt.n) {
				t.Errorf("Count() = %d, want %d", got, tt.n)
			}
		})
	}
}

func TestCountLargeSetWithinError(t *testing.T) {
	r := New()
	const n = 200000
	for i := range n {
		r.Add(fmt.Appendf(nil, "%d", i))
	}
	got := float64(r.Count())
	// The standard error is 0.81%; allow four of them.
	if rel := math.Abs(got-n) / n; rel > 0.0325 {
		t.Errorf("Count() = %v for %d elements, relative error %.4f", got, n, rel)
	}
}

func TestAddReportsChange(t *testing.T) {
	r := New()
	if !r.Add([]byte("a")) {
		t.Error(`first Add("a") = false, want true`)
	}
	if r.Add([]byte("a")) {
		t.Error(`second Add("a") = true, want false`)
	}
}

func TestNilCountsZero(t *testing.T) {
	var r Registers
	if got := r.Count(); got != 0 {
		t.Errorf("nil Count() = %d, want 0", got)
	}
}

func TestMergeIsUnion(t *testing.T) {
	a, b, both := New(), New(), New()
	for i := range 3000 {
		e := fmt.Appendf(nil, "e%d", i)
		both.Add(e)
		if i < 2000 {
			a.Add(e)
		}
		if i >= 1000 {
			b.Add(e)
		}
	}
	Merge(a, b)
	if !bytes.Equal(a, both) {
		t.Fatal("Merge(a, b) registers differ from registers of the union")
	}
	if got, want := a.Count(), both.Count(); got != want {
		t.Errorf("merged Count() = %d, want %d", got, want)
	}
	// Merging nil is a no-op.
	Merge(a, nil)
	if !bytes.Equal(a, both) {
		t.Error("Merge(a, nil) changed a")
	}
}

func TestPatLenRange(t *testing.T) {
	for i := range 100000 {
		idx, c := patLen(fmt.Appendf(nil, "%d", i))
		if idx < 0 || idx >= Size || c < 1 || c > MaxValue {
			t.Fatalf("patLen(%d) = %d, %d out of range", i, idx, c)
		}
	}
}

func TestMurmurTailLengths(t *testing.T) {
	// Every tail length 0..7 and several blocks hash differently, and the
	// hash depends on the length, not only on the bytes.
	seen := map[uint64]int{}
	data := []byte("abcdefghijklmnopqrstuvwxyz")
	for n := 0; n <= len(data); n++ {
		h := murmurHash64A(data[:n], seed)
		if prev, ok := seen[h]; ok {
			t.Errorf("murmurHash64A of %d and %d bytes collide", prev, n)
		}
		seen[h] = n
	}
	if murmurHash64A([]byte{0}, seed) == murmurHash64A([]byte{0, 0}, seed) {
		t.Error("hash ignores length")
	}
}

func TestValidate(t *testing.T) {
	bad := New()
	bad[7] = MaxValue + 1
	tests := []struct {
		name string
		r    Registers
		ok   bool
	}{
		{"new", New(), true},
		{"nil", nil, false},
		{"short", make(Registers, Size-1), false},
		{"long", make(Registers, Size+1), false},
		{"value too large", bad, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.r.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// encodeDense writes r in Redis's dense encoding.
func encodeDense(r Registers) []byte {
	b := make([]byte, denseSize)
	copy(b, "HYLL")
	p := b[headerSize:]
	for i, v := range r {
		bit := i * denseBits
		byteIdx, shift := bit/8, uint(bit%8)
		p[byteIdx] |= v << shift
		if byteIdx+1 < len(p) {
			p[byteIdx+1] |= byte(uint(v) >> (8 - shift))
		}
	}
	return b
}

// encodeSparse writes r in Redis's sparse encoding; values must be <= 32.
func encodeSparse(r Registers) []byte {
	b := []byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	for i := 0; i < len(r); {
		j := i
		for j < len(r) && r[j] == r[i] {
			j++
		}
		run := j - i
		for run > 0 {
			switch {
			case r[i] != 0:
				n := min(run, 4)
				b = append(b, 0x80|(r[i]-1)<<2|byte(n-1))
				run -= n
			case run > 64:
				n := min(run, Size)
				b = append(b, 0x40|byte((n-1)>>8), byte(n-1))
				run -= n
			default:
				b = append(b, byte(run-1))
				run = 0
			}
		}
		i = j
	}
	return b
}

func TestDecodeRoundTrip(t *testing.T) {
	r := New()
	for i := range 5000 {
		r.Add(fmt.Appendf(nil, "round-%d", i))
	}
	r[0], r[Size-1] = MaxValue, MaxValue // exercise register edges
	got, err := Decode(encodeDense(r))
	if err != nil {
		t.Fatalf("Decode(dense) error: %v", err)
	}
	if !bytes.Equal(got, r) {
		t.Error("Decode(dense) registers differ from the encoded ones")
	}

	s := New()
	for i := range 300 {
		s.Add(fmt.Appendf(nil, "sparse-%d", i))
	}
	s[Size-1] = 32
	got, err = Decode(encodeSparse(s))
	if err != nil {
		t.Fatalf("Decode(sparse) error: %v", err)
	}
	if !bytes.Equal(got, s) {
		t.Error("Decode(sparse) registers differ from the encoded ones")
	}
}

func TestDecodeSparseOpcodes(t *testing.T) {
	hdr := "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	// XZERO 100, VAL 3 ×2, XZERO for the rest.
	rest := Size - 102
	b := []byte(hdr)
	b = append(b, 0x40|byte((100-1)>>8), byte(100-1))
	b = append(b, 0x80|(3-1)<<2|(2-1))
	b = append(b, 0x40|byte((rest-1)>>8), byte(rest-1))
	r, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode error: %v", err)
	}
	for i, v := range r {
		want := byte(0)
		if i == 100 || i == 101 {
			want = 3
		}
		if v != want {
			t.Fatalf("register %d = %d, want %d", i, v, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	hdr := "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	dense := encodeDense(New())
	tooHigh := encodeDense(New())
	tooHigh[headerSize] = 63 // register 0 = 63
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", []byte("HYLL")},
		{"bad magic", []byte("HYLX\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
		{"unknown encoding", []byte("HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
		{"dense truncated", dense[:len(dense)-1]},
		{"dense too long", append(append([]byte{}, dense...), 0)},
		{"dense register above max", tooHigh},
		{"sparse no registers", []byte(hdr)},
		{"sparse too few", append([]byte(hdr), 0x3f)},
		{"sparse truncated xzero", append([]byte(hdr), 0x7f)},
		{"sparse too many", append([]byte(hdr), 0x7f, 0xff, 0x00)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode(tt.b)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("Decode() = %d registers, %v; want ErrFormat", len(r), err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	r := New()
	for i := range 50 {
		r.Add(fmt.Appendf(nil, "%d", i))
	}
	f.Add(encodeSparse(r))
	f.Add(encodeDense(r))
	f.Add([]byte("HYLL"))
	f.Add([]byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			if r != nil {
				t.Fatalf("Decode returned registers with error %v", err)
			}
			return
		}
		if verr := r.Validate(); verr != nil {
			t.Fatalf("Decode accepted invalid registers: %v", verr)
		}
		_ = r.Count()
	})
}
