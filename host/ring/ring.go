// Package ring is the consistent-hash ring that spreads short codes over
// click shards (spec §7.1).
//
// A key's position is the MD5 of its UTF-8 bytes read as one unsigned
// 128-bit big-endian integer. Every shard owns 150 virtual nodes at the
// positions of "<shard id>:<i>" for i = 0..149. The owner of a key is the
// shard of the first position at or after the key's position, wrapping to
// the first position; the failover order walks the ring clockwise from
// there and lists each shard the first time it appears.
//
// A Ring is immutable once built, safe for concurrent use, and its lookups
// do not allocate.
package ring

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"unsafe"
)

// VirtualNodes is how many positions each shard takes on the ring.
const VirtualNodes = 150

// ErrNoShards reports a ring built without any shard.
var ErrNoShards = errors.New("no shards")

// Position is a point on the ring: an MD5 sum read as an unsigned 128-bit
// big-endian integer.
type Position [16]byte

// Hash returns the ring position of key.
func Hash(key string) Position {
	// md5 only reads its input, so hashing the string's bytes in place is
	// safe and keeps lookups allocation-free for keys of any length.
	return md5.Sum(unsafe.Slice(unsafe.StringData(key), len(key)))
}

// Int returns p as a non-negative big integer.
func (p Position) Int() *big.Int { return new(big.Int).SetBytes(p[:]) }

// String returns p in decimal, as the specification writes positions.
func (p Position) String() string { return p.Int().String() }

func (p Position) split() (hi, lo uint64) {
	return binary.BigEndian.Uint64(p[:8]), binary.BigEndian.Uint64(p[8:])
}

// Ring maps keys to shards. Build it with New.
type Ring struct {
	shards []string
	// hi and lo hold the sorted positions as two 64-bit halves.
	hi, lo []uint64
	// owner[i] is the index (into shards) of the shard at position i.
	owner []int
	// orders[i] is the failover order starting at position i, as shard
	// indices; positions sharing an order share the slice.
	orders [][]int
}

// New builds the ring of shardIDs, whose order is their ring order. It
// reports ErrNoShards for an empty list and an error for an empty or
// repeated id.
func New(shardIDs []string) (*Ring, error) {
	if len(shardIDs) == 0 {
		return nil, ErrNoShards
	}
	seen := make(map[string]bool, len(shardIDs))
	for _, id := range shardIDs {
		if id == "" {
			return nil, errors.New("build ring: empty shard id")
		}
		if seen[id] {
			return nil, fmt.Errorf("build ring: shard id %q repeated", id)
		}
		seen[id] = true
	}

	// A position shared by two virtual nodes goes to the later one, as in
	// the reference (never observed with MD5).
	byPos := make(map[Position]int, len(shardIDs)*VirtualNodes)
	for s, id := range shardIDs {
		for i := range VirtualNodes {
			byPos[Hash(fmt.Sprintf("%s:%d", id, i))] = s
		}
	}
	positions := make([]Position, 0, len(byPos))
	for p := range byPos {
		positions = append(positions, p)
	}
	slices.SortFunc(positions, func(a, b Position) int {
		return bytes.Compare(a[:], b[:])
	})

	r := &Ring{
		shards: slices.Clone(shardIDs),
		hi:     make([]uint64, len(positions)),
		lo:     make([]uint64, len(positions)),
		owner:  make([]int, len(positions)),
		orders: make([][]int, len(positions)),
	}
	for i, p := range positions {
		r.hi[i], r.lo[i] = p.split()
		r.owner[i] = byPos[p]
	}
	// Share identical orders: with a few shards there are only a few
	// distinct permutations.
	shared := map[string][]int{}
	for i := range positions {
		order := r.walk(i)
		k := fmt.Sprint(order)
		if o, ok := shared[k]; ok {
			order = o
		} else {
			shared[k] = order
		}
		r.orders[i] = order
	}
	return r, nil
}

// walk lists distinct shards clockwise from position index start.
func (r *Ring) walk(start int) []int {
	order := make([]int, 0, len(r.shards))
	seen := make([]bool, len(r.shards))
	for k := range r.owner {
		s := r.owner[(start+k)%len(r.owner)]
		if !seen[s] {
			seen[s] = true
			order = append(order, s)
			if len(order) == len(r.shards) {
				break
			}
		}
	}
	return order
}

// search returns the index of the first position at or after p, wrapping
// to 0 when p is beyond every position.
func (r *Ring) search(p Position) int {
	hi, lo := p.split()
	i, j := 0, len(r.hi)
	for i < j {
		m := int(uint(i+j) >> 1)
		if r.hi[m] < hi || (r.hi[m] == hi && r.lo[m] < lo) {
			i = m + 1
		} else {
			j = m
		}
	}
	if i == len(r.hi) {
		return 0
	}
	return i
}

// Shards returns the shard ids in ring order (the order given to New).
func (r *Ring) Shards() []string { return slices.Clone(r.shards) }

// Len returns the number of positions on the ring.
func (r *Ring) Len() int { return len(r.hi) }

// Positions returns the ring's positions in ascending order.
func (r *Ring) Positions() []Position {
	ps := make([]Position, len(r.hi))
	for i := range ps {
		binary.BigEndian.PutUint64(ps[i][:8], r.hi[i])
		binary.BigEndian.PutUint64(ps[i][8:], r.lo[i])
	}
	return ps
}

// OwnerIndex returns the index (into Shards) of the shard that owns key.
func (r *Ring) OwnerIndex(key string) int { return r.owner[r.position(key)] }

// Owner returns the id of the shard that owns key.
func (r *Ring) Owner(key string) string { return r.shards[r.OwnerIndex(key)] }

// Order returns the failover order of key as indices into Shards, owner
// first; every shard appears exactly once. The slice is shared: callers
// must not modify it.
func (r *Ring) Order(key string) []int { return r.orders[r.position(key)] }

// position returns the index of key's position. A ring of one shard maps
// every key to the same owner and order, so it skips the hash.
func (r *Ring) position(key string) int {
	if len(r.shards) == 1 {
		return 0
	}
	return r.search(Hash(key))
}

// OrderIDs returns the failover order of key as shard ids, owner first.
func (r *Ring) OrderIDs(key string) []string {
	order := r.Order(key)
	ids := make([]string, len(order))
	for i, s := range order {
		ids[i] = r.shards[s]
	}
	return ids
}
