package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
)

// visitorHasher turns a client address into the visitor identity privacy
// mode stores: the first 128 bits of HMAC-SHA256(key, address), as 32 hex
// digits. The same key on every instance gives a visitor the same
// identity everywhere, so unique visitors stay exact across shards, while
// the address cannot be read back without the key.
type visitorHasher struct {
	macs sync.Pool // of hash.Hash, each keyed
}

func newVisitorHasher(key []byte) *visitorHasher {
	key = append([]byte(nil), key...)
	h := &visitorHasher{}
	h.macs.New = func() any { return hmac.New(sha256.New, key) }
	return h
}

// of returns the identity of addr.
func (h *visitorHasher) of(addr string) string {
	mac := h.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write([]byte(addr))
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	h.macs.Put(mac)
	return hex.EncodeToString(sum[:16])
}
