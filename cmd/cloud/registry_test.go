package main_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRegistryEndToEnd registers stack binaries by path through the built
// cloud binary, lists them as JSON and validates them all: a sound example
// passes, a deliberately broken stack makes validate-stack exit 1.
func TestRegistryEndToEnd(t *testing.T) {
	home, bins := t.TempDir(), t.TempDir()
	build := exec.Command("go", "build", "-o", bins+"/", "../../stacks/examples/cmd/demo-network",
		"../../app/testdata/badstacks/undeclaredinput")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build stacks: %v\n%s", err, out)
	}

	mustCloud(t, home, "register-stack", filepath.Join(bins, "demo-network"), "--dependencies", "")
	type named struct {
		Name string `json:"name"`
	}
	stacks := items[struct {
		Name         string   `json:"name"`
		Version      int      `json:"version"`
		Dependencies []string `json:"dependencies"`
		Outputs      []named  `json:"outputs"`
		Source       string   `json:"source"`
	}](t, mustCloud(t, home, "list-stacks", "-o", "json").stdout)
	if len(stacks) != 1 || stacks[0].Name != "demo-network" || stacks[0].Version != 1 ||
		stacks[0].Source != filepath.Join(bins, "demo-network") || !slices.Contains(stacks[0].Outputs, named{"vpcId"}) {
		t.Fatalf("list-stacks: %+v", stacks)
	}
	if r := mustCloud(t, home, "validate-stack", "--all"); !strings.Contains(r.stdout, "demo-network") {
		t.Errorf("validate-stack --all printed %q", r.stdout)
	}

	mustCloud(t, home, "register-stack", filepath.Join(bins, "undeclaredinput"))
	r := cloud(t, home, "validate-stack", "--all")
	if r.code != 1 || !strings.Contains(r.stdout, `input "vpcId" is read but not declared`) {
		t.Errorf("validate-stack --all with a broken stack: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r := cloud(t, home, "validate-stack"); r.code != 2 {
		t.Errorf("validate-stack without NAME or --all: exit %d, want 2", r.code)
	}

	if r := cloud(t, home, "unregister-stack", "demo-network"); r.code != 2 {
		t.Errorf("unregister-stack without --yes and no terminal: exit %d, want 2", r.code)
	}
	mustCloud(t, home, "--yes", "unregister-stack", "demo-network")
	if r := mustCloud(t, home, "list-stacks"); strings.Contains(r.stdout, "demo-network") {
		t.Errorf("network still listed after unregister:\n%s", r.stdout)
	}
}

// TestRegisterNotAStackProgram: an executable that is not a stack program
// is a usage error that says so, with nothing of what it printed.
func TestRegisterNotAStackProgram(t *testing.T) {
	home := t.TempDir()
	for _, prog := range []string{"/bin/sh", "/bin/true"} {
		r := cloud(t, home, "register-stack", prog)
		if r.code != 2 || !strings.Contains(r.stderr, prog+" is not a stack program") {
			t.Errorf("register-stack %s: exit %d, stderr %q; want 2 and not a stack program", prog, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "cannot open") {
			t.Errorf("register-stack %s echoes the program's output: %q", prog, r.stderr)
		}
	}
}
