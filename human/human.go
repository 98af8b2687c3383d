// Package human formats times, durations and counts for people, the one
// way the CLI's tables, the monitor, a deploy's progress and the dashboard
// (which copies these rules in JavaScript, checked by its browser tests)
// show them. Documents (JSON, YAML) carry RFC 3339 times and raw counts
// instead.
package human

import (
	"fmt"
	"strings"
	"time"
)

// Duration formats a run time: 850ms, 12.3s, 4m5s; "-" for none.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// Clock formats the time of day of an event: local time (TZ decides), to
// the second.
func Clock(t time.Time) string { return t.Local().Format(time.TimeOnly) }

// DateTime formats a date and time: local time, to the second; "-" for
// none.
func DateTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

// changeSymbols are the resource operations of a change summary, in the
// order they are shown, with their signs.
var changeSymbols = []struct{ op, sign string }{
	{"create", "+"}, {"update", "~"}, {"replace", "±"}, {"delete", "-"}, {"same", "="},
}

// Changes formats a stack's change summary (resource operations by kind,
// as Pulumi counts them): "+2 ~1 =3"; "-" for none.
func Changes(c map[string]int) string {
	var parts []string
	for _, s := range changeSymbols {
		if c[s.op] > 0 {
			parts = append(parts, fmt.Sprintf("%s%d", s.sign, c[s.op]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// Counts formats counts by name in the order given, leaving out names
// without a count: "deployed:3 failed:1"; "-" for none.
func Counts[K ~string](c map[string]int, order []K) string {
	var parts []string
	for _, k := range order {
		if v, ok := c[string(k)]; ok {
			parts = append(parts, fmt.Sprintf("%s:%d", k, v))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// Plural counts a noun in English: "1 stack", "3 stacks", "0 stacks".
// Nouns are ours and regular: the plural adds an s to the last word.
func Plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Diff names the properties a resource step changes, as Pulumi's display
// does: " [diff: image, replicas]"; "" for none, so it can be appended.
func Diff(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return " [diff: " + strings.Join(keys, ", ") + "]"
}
