package tracker

import "time"

// ChinaTime is the zone of customs' days (UTC+8 all year): a day's figures run from midnight
// to midnight there.
var ChinaTime = time.FixedZone("CST", 8*3600)

// DayCount is how many of one kind happened on one China day at one place: border crossings by
// port and direction, or alerts by zone and type.
type DayCount struct {
	Day   string // 2006-01-02, China time
	Zone  string // crossings: the port zone ("" outside every port); alerts: the alert's zone ("" none)
	Key   string // crossings: the direction; alerts: the type
	Count int
}

// ChinaDay is the China date of a day number (days since 1970-01-01 in China time), as stores
// compute it from a time: floor((unix seconds + 8 h) / 1 day).
func ChinaDay(n int64) string {
	return time.Unix(n*86400, 0).UTC().Format(time.DateOnly)
}
