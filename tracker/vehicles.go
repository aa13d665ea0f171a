package tracker

import (
	"hash/maphash"
	"sync"
)

// VehicleMap holds one value per vehicle, made on first use. It is sharded by a hash of the
// vehicle id: a vehicle is looked up on every fix, and vehicles must not wait for each other.
type VehicleMap[V any] struct {
	newVehicle func(id string) V
	seed       maphash.Seed
	shards     [64]vehicleShard[V]
}

type vehicleShard[V any] struct {
	mu       sync.Mutex
	vehicles map[string]V
}

// NewVehicleMap returns an empty map whose vehicles newVehicle makes.
func NewVehicleMap[V any](newVehicle func(id string) V) *VehicleMap[V] {
	m := &VehicleMap[V]{newVehicle: newVehicle, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].vehicles = map[string]V{}
	}
	return m
}

// Get returns the vehicle's value, made the first time.
func (m *VehicleMap[V]) Get(id string) V {
	s := &m.shards[maphash.String(m.seed, id)%uint64(len(m.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vehicles[id]
	if !ok {
		v = m.newVehicle(id)
		s.vehicles[id] = v
	}
	return v
}

// Append appends every vehicle's value to dst, in no particular order.
func (m *VehicleMap[V]) Append(dst []V) []V {
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for _, v := range s.vehicles {
			dst = append(dst, v)
		}
		s.mu.Unlock()
	}
	return dst
}
