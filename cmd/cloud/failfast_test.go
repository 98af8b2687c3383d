package main_test

import (
	"strings"
	"testing"
)

// TestFailFast deploys a failing stack beside a slow one that does not
// depend on it, one stack at a time: with --fail-fast the failure stops
// the run before the slow stack starts, and the summary says why.
func TestFailFast(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--from-file", "testdata/manifests/failfast.yaml")
	// --parallel 1: equal priorities run in name order, bad first.
	r := cloud(t, home, "deploy", "DFAST01", "-e", "dev", "--parallel", "1", "--fail-fast")
	if r.code != 1 {
		t.Fatalf("deploy --fail-fast: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	report := r.stdout + r.stderr
	for _, want := range []string{"bad is broken on purpose", "not started: --fail-fast after bad failed"} {
		if !strings.Contains(report, want) {
			t.Errorf("the summary does not say %q:\n%s", want, report)
		}
	}
	st := decode[statusJSON](t, mustCloud(t, home, "status", "DFAST01", "-e", "dev", "-o", "json").stdout)
	for _, s := range st.Environments[0].Stacks {
		switch {
		case s.Name == "bad" && s.Status != "failed":
			t.Errorf("bad is %s, want failed", s.Status)
		case s.Name == "slow" && (s.Status != "skipped" || !strings.Contains(s.Reason, "--fail-fast after bad failed") || s.ResourceCount != 0):
			t.Errorf("slow is %s (%q, %d resources), want skipped: not started after bad failed", s.Status, s.Reason, s.ResourceCount)
		}
	}
	ops := items[struct {
		ID, Status string
	}](t, mustCloud(t, home, "history", "DFAST01", "-o", "json").stdout)
	if len(ops) != 1 || ops[0].Status != "failed" {
		t.Fatalf("history: %+v, want one failed operation", ops)
	}
	for _, e := range events(t, home, "DFAST01", ops[0].ID) {
		if e.Stack == "slow" && e.Kind == "engine" {
			t.Fatalf("slow ran its engine after bad failed with --fail-fast: %+v", e)
		}
	}
}
