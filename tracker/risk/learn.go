package risk

import (
	"fmt"
	"maps"
)

// Hits are the inspections of one source's orders over the learning window and what they found.
type Hits struct {
	Inspected, Found int
}

// LearnWindow is how far back the hit rates the weights learn from reach.
const LearnWindow = 90

// priorInspections is how many inspections the fixed weight counts as: with fewer, a type's
// weight stays near it; with many more, its measured hit rate decides.
const priorInspections = 20

// learned is an alert type's weight and why it is what it is.
type learned struct {
	weight float64
	why    string // "" while it is the fixed weight
}

// Learn weighs each alert type by its measured hit rate (hits maps alert types, and perhaps
// other sources, to their inspections of the last LearnWindow days), shrunk towards the fixed
// weight: w = (n·w_data + k·w_fixed) / (n + k), k = 20 inspections, where w_data scales the
// fixed weights' mean by the type's hit rate relative to the rate of all alert types. Every
// alert the scorer holds is weighed again.
func (s *Scorer) Learn(hits map[string]Hits) {
	var all Hits
	for typ, h := range hits {
		if _, ok := weights[typ]; ok {
			all.Inspected += h.Inspected
			all.Found += h.Found
		}
	}
	var mean float64
	for _, w := range weights {
		mean += w
	}
	mean /= float64(len(weights))
	next := make(map[string]learned, len(weights))
	for typ, w0 := range weights {
		h := hits[typ]
		if h.Inspected == 0 || all.Found == 0 {
			next[typ] = learned{weight: w0}
			continue
		}
		rate, allRate := float64(h.Found)/float64(h.Inspected), float64(all.Found)/float64(all.Inspected)
		n := float64(h.Inspected)
		w := (n*mean*rate/allRate + priorInspections*w0) / (n + priorInspections)
		next[typ] = learned{weight: w, why: fmt.Sprintf("weight %.1f (fixed %g): %d found in %d inspections in %d days, %.0f%% against %.0f%% for all alert types",
			w, w0, h.Found, h.Inspected, LearnWindow, 100*rate, 100*allRate)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.learned = next
	for _, v := range s.vehicles {
		for i := range v.alerts {
			v.alerts[i].weight = next[v.alerts[i].typ].weight
		}
		v.recount(v.lo, v.hi)
	}
}

// weight is the alert type's weight now and whether it carries any. The caller holds s.mu.
func (s *Scorer) weight(typ string) (float64, bool) {
	if l, ok := s.learned[typ]; ok {
		return l.weight, true
	}
	w, ok := weights[typ]
	return w, ok
}

// Weights are the alert types' weights now, and why each differs from its fixed weight.
func (s *Scorer) Weights() (map[string]float64, map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws, why := maps.Clone(weights), map[string]string{}
	for typ, l := range s.learned {
		ws[typ] = l.weight
		if l.why != "" {
			why[typ] = l.why
		}
	}
	return ws, why
}
