//go:build !race

package jt808

const raceEnabled = false
