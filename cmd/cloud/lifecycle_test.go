package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRollback deploys revision 1, changes the config and adds a stack
// (revision 2), deploys, then rolls back to the first deploy: the outputs are
// revision 1's again and the added stack is destroyed, after confirmation.
func TestRollback(t *testing.T) {
	home := t.TempDir()
	t.Setenv("ROLLBACK_TAG", "one")
	mustCloud(t, home, "init", "--from-file", "testdata/manifests/rollback.yaml")
	first := decode[reportJSON](t, mustCloud(t, home, "deploy", "DROLL01", "-o", "json").stdout)
	before := mustCloud(t, home, "outputs", "DROLL01", "-o", "json").stdout

	body, _ := os.ReadFile("testdata/manifests/rollback.yaml")
	rev2 := strings.Replace(string(body), "greeting: v1", "greeting: v2", 1) + "  c:\n    program: probe\n    dependencies: [b]\n"
	file := filepath.Join(home, "rev2.yaml")
	os.WriteFile(file, []byte(rev2), 0o600)
	t.Setenv("ROLLBACK_TAG", "two")
	mustCloud(t, home, "deploy", "DROLL01", "-f", file)
	outs := outputsOf(t, mustCloud(t, home, "outputs", "DROLL01", "-o", "json").stdout)
	if outs["b"]["upstream"] != "v2" || outs["b"]["tag"] != "two" || outs["c"] == nil {
		t.Fatalf("revision 2 not deployed: %v", outs)
	}

	cands := items[struct {
		ID, Kind string
		Revision int
	}](t, mustCloud(t, home, "rollback", "DROLL01", "--list", "-o", "json").stdout)
	if len(cands) != 2 || cands[1].ID != first.ID || cands[1].Revision != 1 {
		t.Fatalf("rollback --list = %+v, want the two deploys, the first at revision 1", cands)
	}

	// c did not exist at the first deploy: without --yes there is no one
	// to ask, so the rollback is refused and nothing changes.
	r := cloud(t, home, "rollback", "DROLL01", "--to", first.ID)
	if r.code != 2 || !strings.Contains(r.stderr, "would destroy c") {
		t.Fatalf("rollback without --yes: exit %d\n%s", r.code, r.stderr)
	}
	if got := stackStatuses(t, home, "DROLL01")["c"]; got != "deployed" {
		t.Fatalf("refused rollback changed c to %s", got)
	}

	// The rollback replays the configs the first deploy ran with: the tag
	// comes back as "one" whatever the environment says now.
	t.Setenv("ROLLBACK_TAG", "three")
	rb := decode[reportJSON](t, mustCloud(t, home, "rollback", "DROLL01", "--to", first.ID, "--yes", "-o", "json").stdout)
	if rb.Status != "succeeded" {
		t.Fatalf("rollback: %+v", rb)
	}
	if after := mustCloud(t, home, "outputs", "DROLL01", "-o", "json").stdout; after != before {
		t.Errorf("outputs after rollback:\n%s\nwant revision 1's:\n%s", after, before)
	}
	if got := stackStatuses(t, home, "DROLL01"); got["c"] != "" && got["c"] != "destroyed" {
		t.Errorf("c after rollback: %s, want destroyed (or gone from the manifest)", got["c"])
	}
	ops := items[struct {
		Kind, Status string
		Revision     int
	}](t, mustCloud(t, home, "history", "DROLL01", "-o", "json").stdout)
	if ops[0].Kind != "rollback" || ops[0].Status != "succeeded" || ops[0].Revision != 3 {
		t.Errorf("latest operation %+v, want a succeeded rollback at revision 3", ops[0])
	}
	if m := mustCloud(t, home, "config", "DROLL01").stdout; !strings.Contains(m, "greeting: v1") || strings.Contains(m, "  c:") {
		t.Errorf("current manifest after rollback is not revision 1's:\n%s", m)
	}
}

// TestEnvironments enables and disables environments and stacks, with the
// destroy that may come first, and lists them with their counts.
func TestEnvironments(t *testing.T) {
	home := t.TempDir()
	t.Setenv("ROLLBACK_TAG", "env")
	mustCloud(t, home, "init", "--from-file", "testdata/manifests/rollback.yaml")
	mustCloud(t, home, "deploy", "DROLL01", "-e", "dev")

	type envJSON struct {
		Name                          string
		Enabled                       bool
		Deployed, Failed, NotDeployed int
		Status                        string
	}
	envs := items[envJSON](t, mustCloud(t, home, "list-environments", "DROLL01", "-o", "json").stdout)
	if len(envs) != 2 || envs[0].Name != "dev" || envs[0].Deployed != 2 || envs[1].NotDeployed != 2 || !envs[1].Enabled {
		t.Fatalf("list-environments = %+v", envs)
	}

	// Disabling stage refuses deploys there, with a message that says how
	// to enable it.
	mustCloud(t, home, "disable-environment", "DROLL01", "stage")
	r := cloud(t, home, "deploy", "DROLL01", "-e", "stage")
	if r.code != 1 || !strings.Contains(r.stderr, "enable-environment DROLL01 stage") {
		t.Fatalf("deploy to disabled stage: exit %d\n%s", r.code, r.stderr)
	}
	mustCloud(t, home, "enable-environment", "DROLL01", "stage")
	mustCloud(t, home, "deploy", "DROLL01", "-e", "stage")

	// --destroy without --yes and no terminal: refused, nothing changes.
	if r := cloud(t, home, "disable-environment", "DROLL01", "dev", "--destroy"); r.code != 2 {
		t.Fatalf("disable --destroy without --yes: exit %d\n%s", r.code, r.stderr)
	}
	if got := stackStatuses(t, home, "DROLL01"); got["a"] != "deployed" {
		t.Fatalf("refused disable changed dev: %v", got)
	}
	mustCloud(t, home, "disable-environment", "DROLL01", "dev", "--destroy", "--yes")
	envs = items[envJSON](t, mustCloud(t, home, "list-environments", "DROLL01", "-o", "json").stdout)
	if envs[0].Enabled || envs[0].Deployed != 0 || envs[0].Status != "destroyed" {
		t.Errorf("dev after disable --destroy: %+v", envs[0])
	}
	if envs[1].Deployed != 2 {
		t.Errorf("stage was touched: %+v", envs[1])
	}

	// Per-stack flags: b disabled in stage only.
	mustCloud(t, home, "disable-environment", "DROLL01", "stage", "--stacks", "b")
	if m := mustCloud(t, home, "config", "DROLL01").stdout; !strings.Contains(m, "stage:\n          enabled: false") && !strings.Contains(m, "stage:\n        enabled: false") {
		t.Errorf("manifest lacks b's stage override:\n%s", m)
	}
	envs = items[envJSON](t, mustCloud(t, home, "list-environments", "DROLL01", "-o", "json").stdout)
	if !envs[1].Enabled || envs[1].Deployed != 1 {
		t.Errorf("stage after disabling b there: %+v (want enabled, 1 enabled stack deployed)", envs[1])
	}
	// A stack disabled everywhere, enabled in one environment: it runs
	// there and stays off in the others.
	mustCloud(t, home, "config", "set", "DROLL01", "stacks.b.enabled", "false")
	mustCloud(t, home, "enable-environment", "DROLL01", "dev", "--stacks", "b")
	plan := func(env string) string {
		return mustCloud(t, home, "graph", "DROLL01", "-e", env).stdout
	}
	hasB := regexp.MustCompile(`(?m)^\s+b\b`)
	if p := plan("dev"); !hasB.MatchString(p) {
		t.Errorf("b is not in dev's plan after enabling it there:\n%s", p)
	}
	if p := plan("stage"); hasB.MatchString(p) {
		t.Errorf("enabling b in dev enabled it in stage:\n%s", p)
	}
	if r := cloud(t, home, "enable-environment", "DROLL01", "qa"); r.code != 2 || !strings.Contains(r.stderr, `no environment "qa"`) {
		t.Errorf("unknown environment: exit %d\n%s", r.code, r.stderr)
	}
}

// TestCascade changes an upstream output and deploys that stack with
// --cascade: the dependent that consumes the output is redeployed, the one
// that only depends on the stack is left unchanged.
func TestCascade(t *testing.T) {
	home := t.TempDir()
	manifest := `version: 1
deployment_id: DCASC01
organization: acme
project: cascade
environments:
  dev: {region: eu-west-1}
stacks:
  a: {program: probe, config: {greeting: v1}}
  b: {program: probe, config: {upstream: "${a.greeting}"}}
  c: {program: probe, dependencies: [a]}
`
	file := filepath.Join(home, "m.yaml")
	os.WriteFile(file, []byte(manifest), 0o600)
	mustCloud(t, home, "init", "--from-file", file)
	mustCloud(t, home, "deploy", "DCASC01")
	mustCloud(t, home, "config", "set", "DCASC01", "stacks.a.config.greeting", "v2")
	rep := decode[reportJSON](t, mustCloud(t, home, "deploy-stack", "DCASC01", "a", "--cascade", "-o", "json").stdout)
	got := map[string]string{}
	for _, s := range rep.Stacks {
		got[s.Stack] = s.Status
	}
	if got["a"] != "deployed" || got["b"] != "deployed" || got["c"] != "unchanged" {
		t.Errorf("deploy-stack a --cascade: %v, want a and b deployed, c unchanged", got)
	}
	outs := outputsOf(t, mustCloud(t, home, "outputs", "DCASC01", "b", "-o", "json").stdout)
	if outs["b"]["upstream"] != "v2" {
		t.Errorf("b.upstream = %v, want v2", outs["b"]["upstream"])
	}
}
