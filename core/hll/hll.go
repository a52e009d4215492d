// Package hll is a HyperLogLog compatible with Redis, so that unique-visitor
// sketches kept by different click shards (Redis or memory) can be merged
// into one estimate instead of summed.
//
// It uses exactly the parameters and hash of Redis (P = 14, so 16384
// registers, MurmurHash64A with seed 0xadc83b19) and the estimator Redis
// uses since version 5 (Ertl's improved estimator), so that for the same set
// of elements [Registers.Count] equals what PFCOUNT returns, and registers
// decoded from a Redis value with [Decode] can be merged with registers built
// in Go by [Registers.Add].
//
// The package imports only the standard library.
package hll

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

const (
	// P is the number of hash bits that select a register.
	P = 14
	// Size is the number of registers: 2^P.
	Size = 1 << P
	// MaxValue is the largest value a register can hold: the number of
	// remaining hash bits plus one.
	MaxValue = 64 - P + 1

	q        = 64 - P // hash bits left for the run of zeros
	seed     = 0xadc83b19
	alphaInf = 0.721347520444481703680 // 0.5/ln(2)
)

// Registers holds the Size register values of one HyperLogLog, one byte per
// register, each 0..MaxValue. The zero value (nil) is an empty sketch for
// reading (Count returns 0) but cannot be added to; use New.
type Registers []byte

// New returns an empty sketch.
func New() Registers { return make(Registers, Size) }

// Add adds element to the sketch and reports whether a register changed,
// as PFADD reports whether the cardinality estimate may have changed.
// r must have Size registers.
func (r Registers) Add(element []byte) bool {
	index, count := patLen(element)
	if r[index] >= count {
		return false
	}
	r[index] = count
	return true
}

// patLen returns the register an element selects and the value it
// proposes: the number of trailing zero bits of the remaining hash plus one,
// exactly as Redis's hllPatLen.
func patLen(element []byte) (index int, count uint8) {
	h := murmurHash64A(element, seed)
	index = int(h & (Size - 1))
	h >>= P
	h |= 1 << q // guarantees the loop ends: count is at most q+1
	count = 1
	for bit := uint64(1); h&bit == 0; bit <<= 1 {
		count++
	}
	return index, count
}

// Merge sets every register of dst to the larger of its value and src's,
// so that dst then describes the union of both sets, as PFMERGE does.
// Registers past the shorter of the two are left alone.
func Merge(dst, src Registers) {
	n := min(len(dst), len(src))
	for i := range n {
		if src[i] > dst[i] {
			dst[i] = src[i]
		}
	}
}

// Validate reports whether r is a well-formed sketch: exactly Size
// registers, each at most MaxValue. Registers received from another process
// should be validated before they are merged.
func (r Registers) Validate() error {
	if len(r) != Size {
		return fmt.Errorf("hll: %d registers, want %d", len(r), Size)
	}
	for i, v := range r {
		if v > MaxValue {
			return fmt.Errorf("hll: register %d is %d, above %d", i, v, MaxValue)
		}
	}
	return nil
}

// Count returns the estimated number of distinct elements added, computed
// as Redis's hllCount does, so it matches PFCOUNT for the same registers.
// A nil or short r counts its missing registers as zero; values above
// MaxValue are treated as MaxValue.
func (r Registers) Count() uint64 {
	var histo [MaxValue + 1]int
	for i, v := range r {
		if i >= Size {
			break
		}
		histo[min(v, MaxValue)]++
	}
	if len(r) < Size {
		histo[0] += Size - len(r)
	}
	const m = float64(Size)
	z := float64(m * tau(float64(Size-histo[q+1])/m))
	for j := q; j >= 1; j-- {
		z += float64(histo[j])
		z = float64(z * 0.5)
	}
	z += float64(m * sigma(float64(histo[0])/m))
	// float64 conversions keep every step rounded to double precision as
	// in Redis, preventing fused multiply-add on platforms that have it.
	return uint64(math.Round(float64(float64(alphaInf*m*m) / z)))
}

// sigma is Ertl's σ function as Redis computes it.
func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y := 1.0
	z := x
	for {
		x = float64(x * x)
		prev := z
		z += float64(x * y)
		y += y
		if z == prev {
			return z
		}
	}
}

// tau is Ertl's τ function as Redis computes it.
func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y := 1.0
	z := 1 - x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		d := 1 - x
		z -= float64(float64(d*d) * y)
		if z == prev {
			return z / 3
		}
	}
}

// murmurHash64A is Austin Appleby's MurmurHash64A as Redis uses it, reading
// 8-byte blocks little-endian.
func murmurHash64A(data []byte, seed uint64) uint64 {
	const (
		m = 0xc6a4a7935bd1e995
		r = 47
	)
	h := seed ^ (uint64(len(data)) * m)
	for len(data) >= 8 {
		k := binary.LittleEndian.Uint64(data)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		data = data[8:]
	}
	if len(data) > 0 {
		for i := len(data) - 1; i >= 0; i-- {
			h ^= uint64(data[i]) << (8 * i)
		}
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// Redis HLL string layout.
const (
	headerSize    = 16
	denseBits     = 6
	denseSize     = headerSize + (Size*denseBits+7)/8
	encodingDense = 0
	encodingSpars = 1
	registerMask  = 1<<denseBits - 1
)

// ErrFormat reports a value that is not a valid Redis HyperLogLog.
var ErrFormat = errors.New("hll: not a valid redis hyperloglog")

// Decode parses a Redis HyperLogLog string, as GET returns it for a key
// written by PFADD or PFMERGE, into registers. Both the dense and the sparse
// encoding are accepted; anything else, including a sparse value that does
// not describe exactly Size registers, yields an error wrapping ErrFormat.
func Decode(b []byte) (Registers, error) {
	if len(b) < headerSize || string(b[:4]) != "HYLL" {
		return nil, fmt.Errorf("%w: bad header", ErrFormat)
	}
	switch b[4] {
	case encodingDense:
		return decodeDense(b)
	case encodingSpars:
		return decodeSparse(b[headerSize:])
	default:
		return nil, fmt.Errorf("%w: unknown encoding %d", ErrFormat, b[4])
	}
}

func decodeDense(b []byte) (Registers, error) {
	if len(b) != denseSize {
		return nil, fmt.Errorf("%w: dense value of %d bytes, want %d", ErrFormat, len(b), denseSize)
	}
	p := b[headerSize:]
	r := New()
	for i := range r {
		bit := i * denseBits
		byteIdx, shift := bit/8, uint(bit%8)
		v := uint(p[byteIdx]) >> shift
		if byteIdx+1 < len(p) {
			v |= uint(p[byteIdx+1]) << (8 - shift)
		}
		r[i] = byte(v & registerMask)
	}
	// Six bits hold values up to 63; Redis never writes more than MaxValue.
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return r, nil
}

// Sparse opcodes (Redis hyperloglog.c): ZERO 00xxxxxx, XZERO 01xxxxxx
// yyyyyyyy, VAL 1vvvvvxx.
func decodeSparse(p []byte) (Registers, error) {
	r := New()
	idx := 0
	for i := 0; i < len(p); {
		op := p[i]
		var run, val int
		switch {
		case op&0xc0 == 0x00: // ZERO
			run = int(op&0x3f) + 1
			i++
		case op&0xc0 == 0x40: // XZERO
			if i+1 >= len(p) {
				return nil, fmt.Errorf("%w: truncated XZERO opcode", ErrFormat)
			}
			run = (int(op&0x3f)<<8 | int(p[i+1])) + 1
			i += 2
		default: // VAL
			val = int(op>>2&0x1f) + 1
			run = int(op&0x03) + 1
			i++
		}
		if idx+run > Size {
			return nil, fmt.Errorf("%w: sparse value describes more than %d registers", ErrFormat, Size)
		}
		for j := idx; j < idx+run; j++ {
			r[j] = byte(val)
		}
		idx += run
	}
	if idx != Size {
		return nil, fmt.Errorf("%w: sparse value describes %d registers, want %d", ErrFormat, idx, Size)
	}
	return r, nil
}
