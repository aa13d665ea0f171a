package targeting

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"sync"
)

// NewRand returns the draws of random inspections, uniform in [0, 1), safe for concurrent use.
// A seed other than 0 repeats the same sequence (tests and simulations: BW_RANDOM_SEED); 0 keys
// the generator from crypto/rand, so that nobody can tell from the trucks drawn before which
// one is drawn next.
func NewRand(seed uint64) func() float64 {
	var key [32]byte
	if seed == 0 {
		crand.Read(key[:]) // never fails: crypto/rand panics if the system's source is broken
	} else {
		binary.LittleEndian.PutUint64(key[:], seed)
	}
	var mu sync.Mutex
	r := rand.New(rand.NewChaCha8(key))
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}
