// Package ids makes the master's composition ids: sortable, unique strings
// ("c-" followed by 26 lowercase Crockford base32 digits, ULID layout: 48 bits
// of Unix milliseconds, then 80 random bits). Ids made later sort after ids
// made earlier, also within one millisecond, because a Generator increments
// the random part instead of drawing a new one when the clock has not moved.
package ids

import (
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"time"
)

// Prefix starts every composition id.
const Prefix = "c-"

// alphabet is Crockford's base32 in lowercase (no i, l, o, u).
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Generator makes ids. It is safe for concurrent use.
type Generator struct {
	now    func() time.Time
	random io.Reader

	mu     sync.Mutex
	lastMS uint64
	last   [10]byte // the 80 random bits of the last id
}

// NewGenerator returns a Generator reading the time from now and randomness
// from random; nil arguments mean time.Now and crypto/rand.
func NewGenerator(now func() time.Time, random io.Reader) *Generator {
	if now == nil {
		now = time.Now
	}
	if random == nil {
		random = rand.Reader
	}
	return &Generator{now: now, random: random}
}

// New returns a fresh id.
func (g *Generator) New() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := uint64(g.now().UnixMilli())
	if ms <= g.lastMS {
		// Same millisecond (or a clock that went back): stay monotonic.
		ms = g.lastMS
		if !increment(&g.last) {
			ms++ // 80 bits overflowed: borrow the next millisecond
		}
	} else if _, err := io.ReadFull(g.random, g.last[:]); err != nil {
		return "", fmt.Errorf("making id: reading random bits: %w", err)
	}
	g.lastMS = ms
	return Prefix + encode(ms, g.last), nil
}

// increment adds one to the big-endian number b; false on overflow.
func increment(b *[10]byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return true
		}
	}
	return false
}

// encode writes 48 bits of ms and 80 random bits as 26 base32 digits.
func encode(ms uint64, r [10]byte) string {
	var out [26]byte
	// 10 digits of time: 50 bits, the top two always zero.
	for i := 9; i >= 0; i-- {
		out[i] = alphabet[ms&31]
		ms >>= 5
	}
	// 16 digits of randomness: 80 bits, 5 at a time.
	hi := uint64(r[0])<<32 | uint64(r[1])<<24 | uint64(r[2])<<16 | uint64(r[3])<<8 | uint64(r[4])
	lo := uint64(r[5])<<32 | uint64(r[6])<<24 | uint64(r[7])<<16 | uint64(r[8])<<8 | uint64(r[9])
	for i := 17; i >= 10; i-- {
		out[i] = alphabet[hi&31]
		hi >>= 5
	}
	for i := 25; i >= 18; i-- {
		out[i] = alphabet[lo&31]
		lo >>= 5
	}
	return string(out[:])
}
