// Package hlc implements a hybrid logical clock.
//
// A Timestamp pairs a physical time in milliseconds with a logical counter.
// A Clock hands out strictly increasing timestamps even when the wall clock
// stalls or goes backwards, and can be moved forward past timestamps
// observed from other replicas so causally later writes always compare
// greater. Timestamps print as fixed-width hex, so their text sorts in the
// same order as the timestamps themselves.
package hlc

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// maxLogical is the largest logical counter; one more moves the physical
// part forward by a millisecond instead.
const maxLogical = 0xFFFF

// Timestamp is a hybrid logical clock reading.
type Timestamp struct {
	Wall    int64  // physical time, milliseconds since the Unix epoch
	Logical uint16 // counter for readings within the same millisecond
}

// String returns the timestamp as 20 lower-case hex digits: 16 for the
// physical milliseconds and 4 for the logical counter. The zero Timestamp
// prints as twenty zeros.
func (t Timestamp) String() string {
	return fmt.Sprintf("%016x%04x", uint64(t.Wall), t.Logical)
}

// Time returns the physical part as a time.Time in UTC.
func (t Timestamp) Time() time.Time { return time.UnixMilli(t.Wall).UTC() }

// IsZero reports whether t is the zero Timestamp.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// Compare returns -1, 0 or +1 as t is before, equal to or after u.
func (t Timestamp) Compare(u Timestamp) int {
	switch {
	case t.Wall < u.Wall:
		return -1
	case t.Wall > u.Wall:
		return 1
	case t.Logical < u.Logical:
		return -1
	case t.Logical > u.Logical:
		return 1
	}
	return 0
}

// Parse reads a timestamp written by Timestamp.String. It returns an error
// unless s is exactly 20 hex digits.
func Parse(s string) (Timestamp, error) {
	if len(s) != 20 {
		return Timestamp{}, fmt.Errorf("hlc: parse %q: want 20 hex digits", s)
	}
	wall, err := strconv.ParseUint(s[:16], 16, 64)
	if err != nil || wall > 1<<63-1 {
		return Timestamp{}, fmt.Errorf("hlc: parse %q: bad physical part", s)
	}
	logical, err := strconv.ParseUint(s[16:], 16, 16)
	if err != nil {
		return Timestamp{}, fmt.Errorf("hlc: parse %q: bad logical part", s)
	}
	return Timestamp{Wall: int64(wall), Logical: uint16(logical)}, nil
}

// Clock is a hybrid logical clock. It is safe for concurrent use.
type Clock struct {
	now func() time.Time

	mu   sync.Mutex // guards last
	last Timestamp
}

// New returns a clock reading physical time from now (time.Now if nil).
func New(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a timestamp greater than every timestamp this clock returned
// or observed before.
func (c *Clock) Now() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.now().UnixMilli()
	switch {
	case pt > c.last.Wall:
		c.last = Timestamp{Wall: pt}
	case c.last.Logical < maxLogical:
		c.last.Logical++
	default:
		c.last = Timestamp{Wall: c.last.Wall + 1}
	}
	return c.last
}

// Observe moves the clock forward so that every later Now is greater than
// t. It is called with timestamps read from other replicas, and at start-up
// with the last timestamp persisted locally.
func (c *Clock) Observe(t Timestamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Compare(c.last) > 0 {
		c.last = t
	}
}

// Last returns the most recent timestamp returned or observed.
func (c *Clock) Last() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
