package hlc_test

import (
	"sort"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/store/hlc"
)

// fakeWall is a wall clock the test moves by hand.
type fakeWall struct{ t time.Time }

func (f *fakeWall) now() time.Time { return f.t }

func TestClock_Now_Monotonic(t *testing.T) {
	wall := &fakeWall{t: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	c := hlc.New(wall.now)

	var got []hlc.Timestamp
	got = append(got, c.Now(), c.Now()) // same millisecond: logical counter
	wall.t = wall.t.Add(5 * time.Millisecond)
	got = append(got, c.Now())
	wall.t = wall.t.Add(-time.Hour) // the wall clock goes backwards
	got = append(got, c.Now(), c.Now())
	wall.t = wall.t.Add(2 * time.Hour)
	got = append(got, c.Now())

	for i := 1; i < len(got); i++ {
		if got[i].Compare(got[i-1]) <= 0 {
			t.Fatalf("timestamp %d (%s) is not after %d (%s)", i, got[i], i-1, got[i-1])
		}
		if got[i].String() <= got[i-1].String() {
			t.Fatalf("text %s does not sort after %s", got[i], got[i-1])
		}
	}
	if got, want := got[3].Wall, got[2].Wall; got != want {
		t.Errorf("after the clock went back, wall = %d, want it held at %d", got, want)
	}
}

func TestClock_Now_LogicalOverflow(t *testing.T) {
	wall := &fakeWall{t: time.UnixMilli(1000)}
	c := hlc.New(wall.now)
	prev := c.Now()
	for i := 0; i < 70000; i++ {
		ts := c.Now()
		if ts.Compare(prev) <= 0 || ts.String() <= prev.String() {
			t.Fatalf("step %d: %s not after %s", i, ts, prev)
		}
		prev = ts
	}
	if prev.Wall <= 1000 {
		t.Errorf("wall = %d, want it pushed past 1000 after the logical counter overflowed", prev.Wall)
	}
}

func TestClock_Observe(t *testing.T) {
	wall := &fakeWall{t: time.UnixMilli(1000)}
	c := hlc.New(wall.now)
	remote := hlc.Timestamp{Wall: 5000, Logical: 7}
	c.Observe(remote)
	if got := c.Now(); got.Compare(remote) <= 0 {
		t.Fatalf("Now() = %s, want after observed %s", got, remote)
	}
	c.Observe(hlc.Timestamp{Wall: 10}) // older: no effect
	if got := c.Now(); got.Wall != 5000 {
		t.Errorf("Now().Wall = %d, want 5000", got.Wall)
	}
}

func TestParse(t *testing.T) {
	ts := hlc.Timestamp{Wall: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), Logical: 42}
	s := ts.String()
	if got, want := len(s), 20; got != want {
		t.Fatalf("len(%q) = %d, want %d", s, got, want)
	}
	back, err := hlc.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if back != ts {
		t.Errorf("Parse(%q) = %+v, want %+v", s, back, ts)
	}
	for _, bad := range []string{"", "123", "zzzzzzzzzzzzzzzzzzzz", "0000000000000000000g", "ffffffffffffffff0000"} {
		if _, err := hlc.Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", bad)
		}
	}
}

func TestTimestamp_String_Sorts(t *testing.T) {
	ts := []hlc.Timestamp{{Wall: 1 << 40}, {Wall: 15, Logical: 2}, {Wall: 15, Logical: 1}, {Wall: 16}, {Wall: 255, Logical: 0xFFFF}}
	strs := make([]string, len(ts))
	for i, x := range ts {
		strs[i] = x.String()
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Compare(ts[j]) < 0 })
	sort.Strings(strs)
	for i := range ts {
		if ts[i].String() != strs[i] {
			t.Errorf("position %d: %s by value, %s by text", i, ts[i], strs[i])
		}
	}
}
