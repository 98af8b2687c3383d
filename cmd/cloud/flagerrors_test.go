package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagErrorsAreUsageErrors: a flag that does not parse is a usage error
// (exit 2) with nothing on stdout, the data stream, and the error and where
// to get help on stderr.
func TestFlagErrorsAreUsageErrors(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "--bogus"}, "flag provided but not defined: -bogus (see cloud list --help)"},
		{[]string{"deploy", "DXXXXX1", "--parallel", "abc"}, `invalid value "abc" for flag -parallel`},
		{[]string{"logs", "DXXXXX1", "--tail", "abc"}, `invalid value "abc" for flag -tail`},
		{[]string{"--bogus", "list"}, "(see cloud --help)"},
		{[]string{"sync", "push", "--bogus"}, "(see cloud sync push --help)"},
	} {
		r := cloud(t, home, tc.args...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("cloud %s: exit %d, stdout %q, stderr %q; want exit 2, no stdout, %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.want)
		}
	}
}

// TestExtraArgumentsAreUsageErrors: a positional argument a command does
// not take is refused (exit 2, nothing on stdout), never silently ignored.
func TestExtraArgumentsAreUsageErrors(t *testing.T) {
	home := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "extra"}, `list takes no arguments, got ["extra"]`},
		{[]string{"version", "extra"}, `version takes no arguments`},
		{[]string{"init", "DXXXXXX", "--org", "a", "--project", "b"}, `init takes no arguments, got ["DXXXXXX"]`},
		{[]string{"outputs", "DXXXXX1", "app", "x"}, `outputs takes ID [STACK], got 1 more: ["x"]`},
		{[]string{"sync", "push", "extra"}, `(see cloud sync push --help)`},
	} {
		r := cloud(t, home, tc.args...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("cloud %s: exit %d, stdout %q, stderr %q; want exit 2, no stdout, %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.want)
		}
	}
	if r := cloud(t, home, "list"); r.code != 0 {
		t.Errorf("cloud list: exit %d %s", r.code, r.stderr)
	}
}

// TestArgumentValuesChecked: values that cannot mean anything are usage
// errors saying so, not empty answers.
func TestArgumentValuesChecked(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--template", "demo", "--org", "acme", "--project", "shop", "--id", "DARGS01")
	other := filepath.Join(home, "other.yaml")
	os.WriteFile(other, []byte("version: 1\ndeployment_id: DARGS02\norganization: a\nproject: b\nenvironments:\n  dev: {}\nstacks:\n  a: {program: probe}\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "DARGS01", "-e"}, "flag -e needs a value"},
		{[]string{"history", "DARGS01", "-e", "nosuchenv"}, `has no environment "nosuchenv" (have: dev, stage, prod)`},
		{[]string{"history", "DARGS01", "-n", "-1"}, "--limit must be between 1 and 500, got -1"},
		{[]string{"logs", "DARGS01", "--tail", "-5"}, "--tail must be 0 (all) or more, got -5"},
		{[]string{"logs", "DARGS01", "--stack", "ap"}, `has no stack "ap" (did you mean "app"?)`},
		{[]string{"init", "--from-file", other, "--id", "DOTHER1"}, "--id cannot be combined with --from-file"},
		{[]string{"init", "--from-file", other, "--template", "minimal"}, "--template cannot be combined with --from-file"},
	} {
		r := cloud(t, home, tc.args...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("cloud %s: exit %d, stdout %q, stderr %q; want exit 2, no stdout, %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.want)
		}
	}
	if r := cloud(t, home, "list", "-o", "json"); strings.Contains(r.stdout, "DARGS02") {
		t.Errorf("a refused init created the deployment: %s", r.stdout)
	}
}
