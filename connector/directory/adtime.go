package directory

import (
	"math"
	"strconv"
	"time"
)

// AD stores instants as FILETIME (100 ns ticks since 1601-01-01 UTC) and
// policy durations as negative tick counts.

// ticksTo1970 is the number of 100 ns ticks between 1601-01-01 and 1970-01-01.
const ticksTo1970 = 116444736000000000

// neverExpires is accountExpires' "never" value (besides 0).
const neverExpires = math.MaxInt64

// fileTime converts a FILETIME to time; 0 and the "never" value give zero.
func fileTime(ticks int64) time.Time {
	if ticks <= 0 || ticks == neverExpires {
		return time.Time{}
	}
	t := ticks - ticksTo1970
	return time.Unix(t/1e7, (t%1e7)*100).UTC()
}

// adInterval converts a (negative) AD policy interval to a positive duration.
// 0 and math.MinInt64 (both "never"/"forever" depending on the attribute)
// give 0; absurdly long intervals are capped rather than overflowing.
func adInterval(ticks int64) time.Duration {
	if ticks == 0 || ticks == math.MinInt64 {
		return 0
	}
	if ticks < 0 {
		ticks = -ticks
	}
	if ticks > math.MaxInt64/100 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ticks * 100)
}

// parseInt64 parses an integer attribute value; empty or malformed gives 0, false.
func parseInt64(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// ldapTime parses a GeneralizedTime such as 20261122054648Z (ppolicy values).
func ldapTime(s string) (time.Time, bool) {
	for _, layout := range []string{"20060102150405Z", "20060102150405.000000Z", "20060102150405.999999999Z", "200601021504Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
