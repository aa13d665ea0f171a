package tracker

// E-seals (electronic customs locks) report the state of their lock beside the position. Their
// gateways put it in Fix.Attrs under these keys, with these values, so that the rules need not
// know the protocol.
const (
	AttrSealState    = "seal_state"    // one of the Seal* states
	AttrSealEvent    = "seal_event"    // one of the SealEvent* values, when the report is about one
	AttrUnlockMethod = "unlock_method" // one of the Unlock* methods, with an unlock event
	AttrUnlockCard   = "unlock_card"   // the card that unlocked, with UnlockCard
	AttrBatteryLow   = "battery_low"   // the seal's battery is low
)

// States of an e-seal.
const (
	SealLocked      = "locked"
	SealUnlocked    = "unlocked"
	SealRopeCut     = "rope_cut"     // the steel rope (shackle) was cut
	SealShellOpened = "shell_opened" // the back cover was opened
)

// Events an e-seal reports. The opening ones carry the name of the state they lead to.
const (
	SealEventUnlocked      = SealUnlocked
	SealEventRopeCut       = SealRopeCut
	SealEventShellOpened   = SealShellOpened
	SealEventUnlockRefused = "unlock_refused" // an attempt to unlock that the seal refused
)

// Ways an e-seal is unlocked, as far as the decoded protocols tell them apart.
const (
	UnlockCard     = "card"
	UnlockPassword = "password"
)

// SealOpen reports whether a seal state or event means the seal no longer holds.
func SealOpen(s string) bool {
	return s == SealUnlocked || s == SealRopeCut || s == SealShellOpened
}
