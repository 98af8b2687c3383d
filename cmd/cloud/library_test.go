package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/library"
)

// libraryStacks is bin/stacks of the repository, where `make stacks` builds
// the AWS stack library; the test fails when a stack is missing.
func libraryStacks(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "bin", "stacks"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append(append([]string{}, library.Stacks...), library.Platform) {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Fatalf("stack %s is not built in %s: run `make stacks` (tools/install/stacks.sh)", n, dir)
		}
	}
	return dir
}

// TestStackLibrary: the whole AWS library registers and validates under
// Pulumi's mocks; a deployment from the default template with every stack
// enabled, and one from the minimal template, pass `validate deployment`;
// a preview gets as far as the AWS provider, which this machine does not
// have, and says so.
func TestStackLibrary(t *testing.T) {
	stacks := libraryStacks(t)
	home := t.TempDir()
	run := func(args ...string) result {
		t.Helper()
		return cloudEnv(t, home, []string{"CLOUD_STACKS_DIR=" + stacks}, args...)
	}
	must := func(args ...string) result {
		t.Helper()
		r := run(args...)
		if r.code != 0 {
			t.Fatalf("cloud %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}

	names := append(append([]string{}, library.Stacks...), library.Platform)
	for _, n := range names {
		must("register-stack", n)
	}
	out := must("validate-stack", "--all").stdout
	for _, n := range names {
		if !strings.Contains(out, n) {
			t.Errorf("validate-stack --all does not mention %s:\n%s", n, out)
		}
	}
	if strings.Contains(out, "warning") {
		t.Errorf("validate-stack --all has warnings:\n%s", out)
	}
	must("validate-template", "default")
	must("validate-template", "minimal")

	id := strings.TrimSpace(must("init", "--template", "default", "--id", "DLIB001", "--org", "acme",
		"--project", "shop", "--domain", "shop.example.com").stdout)
	must("validate", "deployment", id)
	must("enable-environment", id, "dev", "--stacks", strings.Join(library.Stacks, ","))
	if r := must("validate", "deployment", id, "-e", "dev"); !strings.Contains(r.stdout, "valid") {
		t.Errorf("validate deployment with every stack enabled:\n%s", r.stdout)
	}

	// The preview runs every stack's program against the engine, which
	// stops at the AWS provider plugin, not before.
	r := run("preview", id, "-e", "dev", "-o", "json")
	if r.code != 1 {
		t.Fatalf("preview without the AWS provider: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := decode[reportJSON](t, r.stdout)
	plugin := regexp.MustCompile(`Pulumi aws provider plugin \(pulumi-resource-aws v6\.83\.4\) is not installed`)
	failed := 0
	for _, s := range rep.Stacks {
		switch s.Status {
		case "failed":
			failed++
			if !plugin.MatchString(s.Error) {
				t.Errorf("%s failed for another reason than the missing provider: %s", s.Stack, s.Error)
			}
		case "skipped":
			if !strings.Contains(s.Reason, "failed") {
				t.Errorf("%s skipped: %s", s.Stack, s.Reason)
			}
		default:
			t.Errorf("%s: %s (%s)", s.Stack, s.Status, s.Error)
		}
	}
	if len(rep.Stacks) != len(library.Stacks) || failed == 0 {
		t.Errorf("preview: %d stacks, %d failed; want %d stacks", len(rep.Stacks), failed, len(library.Stacks))
	}

	min := strings.TrimSpace(must("init", "--template", "minimal", "--id", "DLIB002", "--org", "acme",
		"--project", "shop", "--domain", "shop.example.com").stdout)
	must("validate", "deployment", min, "-e", "dev")
}
