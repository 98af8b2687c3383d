package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Everyday CLI edges (issue 17): the help and the errors a user meets
// first, through run as the binary calls it.

// runCLI runs the CLI in process on argv with a home of the test's own.
func runCLI(t *testing.T, argv ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	s := &streams{In: strings.NewReader(""), Out: &out, Err: &errb}
	code := run(context.Background(), append([]string{"cloud", "--home", t.TempDir()}, argv...), s)
	return code, out.String(), errb.String()
}

// TestHelp_CommandList: every command's usage in cloud --help starts in
// lower case, help's too.
func TestHelp_CommandList(t *testing.T) {
	code, out, errs := runCLI(t, "--help")
	if code != 0 || errs != "" {
		t.Fatalf("cloud --help: exit %d, stderr %q", code, errs)
	}
	_, cmds, _ := strings.Cut(out, "COMMANDS:\n")
	cmds, _, _ = strings.Cut(cmds, "GLOBAL OPTIONS:")
	n := 0
	for _, l := range strings.Split(cmds, "\n") {
		name, usage, ok := strings.Cut(strings.TrimSpace(l), "  ")
		if !ok {
			continue
		}
		n++
		usage = strings.TrimSpace(usage)
		if usage == "" || strings.ToLower(usage[:1]) != usage[:1] {
			t.Errorf("cloud --help: %s: usage %q does not start in lower case", name, usage)
		}
	}
	if n < 30 || !strings.Contains(cmds, "help, h ") {
		t.Errorf("cloud --help lists %d commands (help among them: %v):\n%s", n, strings.Contains(cmds, "help, h "), cmds)
	}
	if code, out, _ := runCLI(t, "help", "status"); code != 0 || !strings.Contains(out, "cloud status - ") {
		t.Errorf("cloud help status: exit %d\n%s", code, out)
	}
}

// TestHelp_GlobalOptionsFooter: a command's and a subcommand's help point
// at the global options.
func TestHelp_GlobalOptionsFooter(t *testing.T) {
	for _, argv := range [][]string{{"status", "--help"}, {"config", "--help"}, {"config", "set", "--help"}, {"sync", "resolve", "-h"}, {"help", "list"}} {
		code, out, errs := runCLI(t, argv...)
		if code != 0 || errs != "" || !strings.Contains(out, "GLOBAL OPTIONS: see cloud --help (--home, --output/-o,") || !strings.Contains(out, "--server)") {
			t.Errorf("cloud %v: exit %d, stderr %q, no global options line:\n%s", argv, code, errs, out)
		}
	}
}

// TestRequiredFlag_IsUsageError: a missing required flag, of a command
// and of a subcommand, is exit 2 with one line naming it on stderr and
// nothing on stdout.
func TestRequiredFlag_IsUsageError(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"update-template", "shop"}, "error: update-template: flag --file is required (see cloud update-template --help)\n"},
		{[]string{"sync", "resolve", "3f2a9c1b"}, "error: resolve: flag --keep is required (see cloud sync resolve --help)\n"},
	} {
		code, out, errs := runCLI(t, tc.argv...)
		if code != 2 || out != "" || errs != tc.want {
			t.Errorf("cloud %v: exit %d, stdout %q, stderr %q; want 2, nothing, %q", tc.argv, code, out, errs, tc.want)
		}
	}
}
