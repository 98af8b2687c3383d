package human_test

import (
	"testing"
	"time"

	"github.com/cloudplatform/cloud/human"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "-", -time.Second: "-", 7 * time.Millisecond: "7ms", 850 * time.Millisecond: "850ms",
		12340 * time.Millisecond: "12.3s", 245 * time.Second: "4m5s", 3725 * time.Second: "1h2m5s",
	} {
		if got := human.Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestClockAndDateTime(t *testing.T) {
	t.Setenv("TZ", "Asia/Kathmandu") // read by time.Local only at start: set it explicitly too
	loc, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Skip("no time zone database")
	}
	old := time.Local
	time.Local = loc
	defer func() { time.Local = old }()
	at := time.Date(2026, 12, 2, 1, 42, 44, 0, time.UTC)
	if got, want := human.Clock(at), "07:27:44"; got != want {
		t.Errorf("Clock = %q, want %q", got, want)
	}
	if got, want := human.DateTime(at), "2026-12-02 07:27:44"; got != want {
		t.Errorf("DateTime = %q, want %q", got, want)
	}
	if got := human.DateTime(time.Time{}); got != "-" {
		t.Errorf("DateTime(zero) = %q", got)
	}
}

func TestChangesAndCounts(t *testing.T) {
	if got, want := human.Changes(map[string]int{"same": 3, "create": 2, "update": 1, "delete": 0}), "+2 ~1 =3"; got != want {
		t.Errorf("Changes = %q, want %q", got, want)
	}
	if got := human.Changes(nil); got != "-" {
		t.Errorf("Changes(nil) = %q", got)
	}
	order := []string{"deployed", "failed", "skipped"}
	if got, want := human.Counts(map[string]int{"failed": 1, "deployed": 3, "other": 9}, order), "deployed:3 failed:1"; got != want {
		t.Errorf("Counts = %q, want %q", got, want)
	}
	if got := human.Counts(map[string]int{}, order); got != "-" {
		t.Errorf("Counts(empty) = %q", got)
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 deployed stacks", 1: "1 deployed stack", 12: "12 deployed stacks"} {
		if got := human.Plural(n, "deployed stack"); got != want {
			t.Errorf("Plural(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDiff(t *testing.T) {
	if got, want := human.Diff([]string{"image", "replicas"}), " [diff: image, replicas]"; got != want {
		t.Errorf("Diff = %q, want %q", got, want)
	}
	if got := human.Diff(nil); got != "" {
		t.Errorf("Diff(nil) = %q, want nothing", got)
	}
}
