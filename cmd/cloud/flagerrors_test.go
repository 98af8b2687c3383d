package main_test

import (
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
