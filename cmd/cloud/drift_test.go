package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDrift deploys a stack that owns real files, edits one by hand, and
// checks that refresh reports exactly that stack and that file, and that the
// next deploy puts it back.
func TestDrift(t *testing.T) {
	home := t.TempDir()
	site := filepath.Join(home, "site")
	manifest := `version: 1
deployment_id: DDRIFT1
organization: acme
project: drift
environments:
  dev: {region: eu-west-1}
stacks:
  site:
    program: files
    config:
      directory: ` + site + `
      files:
        index.html: "<h1>hello</h1>"
        about.html: "<p>about</p>"
  other:
    program: probe
`
	file := filepath.Join(home, "m.yaml")
	os.WriteFile(file, []byte(manifest), 0o600)
	mustCloud(t, home, "init", "--from-file", file)
	mustCloud(t, home, "deploy", "DDRIFT1")
	index := filepath.Join(site, "index.html")
	if b, err := os.ReadFile(index); err != nil || string(b) != "<h1>hello</h1>" {
		t.Fatalf("deploy did not write %s: %q %v", index, b, err)
	}

	clean := decode[reportJSON](t, mustCloud(t, home, "refresh", "DDRIFT1", "-o", "json").stdout)
	for _, s := range clean.Stacks {
		if s.Status != "in_sync" {
			t.Errorf("refresh before any edit: %s is %s (%s)", s.Stack, s.Status, s.Reason)
		}
	}

	os.WriteFile(index, []byte("<h1>defaced</h1>"), 0o644)
	rep := decode[reportJSON](t, mustCloud(t, home, "refresh", "DDRIFT1", "-o", "json").stdout)
	got := map[string]reportStack{}
	for _, s := range rep.Stacks {
		got[s.Stack] = s
	}
	if s := got["site"]; s.Status != "drifted" || s.Reason != "drifted: update localfile:index:File index.html [diff: content]" {
		t.Errorf("site after the edit: %s (%q), want drifted naming index.html and its content only", s.Status, s.Reason)
	}
	if s := got["other"]; s.Status != "in_sync" {
		t.Errorf("other: %s, want in_sync", s.Status)
	}
	if b, _ := os.ReadFile(index); string(b) != "<h1>defaced</h1>" {
		t.Errorf("refresh changed the file: %q", b)
	}
	st := decode[statusJSON](t, mustCloud(t, home, "status", "DDRIFT1", "-o", "json").stdout)
	for _, s := range st.Environments[0].Stacks {
		if s.Name == "site" && (s.Status != "deployed" || !strings.HasPrefix(s.Reason, "drifted: ")) {
			t.Errorf("site state after refresh: %s %q", s.Status, s.Reason)
		}
	}

	fix := decode[reportJSON](t, mustCloud(t, home, "deploy", "DDRIFT1", "-o", "json").stdout)
	for _, s := range fix.Stacks {
		want := map[string]string{"site": "deployed", "other": "unchanged"}[s.Stack]
		if s.Status != want {
			t.Errorf("deploy after drift: %s is %s, want %s", s.Stack, s.Status, want)
		}
	}
	if b, _ := os.ReadFile(index); string(b) != "<h1>hello</h1>" {
		t.Errorf("deploy did not repair %s: %q", index, b)
	}
	again := decode[reportJSON](t, mustCloud(t, home, "refresh", "DDRIFT1", "--stack", "site", "-o", "json").stdout)
	if len(again.Stacks) != 1 || again.Stacks[0].Status != "in_sync" {
		t.Errorf("refresh after the repair: %+v", again.Stacks)
	}
}
