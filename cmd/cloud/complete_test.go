package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionOfObjects: completion offers the objects a command takes —
// deployment IDs, environments, stacks, templates — not only commands and
// flags, and never creates a home to answer.
func TestCompletionOfObjects(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--template", "demo", "--org", "acme", "--project", "shop", "--id", "DCOMP01")
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"deploy"}, []string{"DCOMP01"}},
		{[]string{"deploy", "DCOMP01", "-e"}, []string{"dev", "stage", "prod"}},
		{[]string{"status", "DCOMP01", "--env"}, []string{"dev", "stage", "prod"}},
		{[]string{"deploy-stack", "DCOMP01"}, []string{"network", "app"}},
		{[]string{"logs", "DCOMP01", "--stack"}, []string{"database"}},
		{[]string{"show-template"}, []string{"demo", "minimal"}},
		{[]string{"init", "--template"}, []string{"demo", "default"}},
		{[]string{"deploy", "DCOMP01", "--par"}, []string{"--parallel"}}, // flags still complete
		{[]string{"sync"}, []string{"push", "pull"}},                     // and subcommands
	} {
		out := mustCloud(t, home, append(tc.words, "--generate-bash-completion")...).stdout
		for _, w := range tc.want {
			if !strings.Contains("\n"+out, "\n"+w+"\n") {
				t.Errorf("cloud %s <TAB> = %q, want %q among them", strings.Join(tc.words, " "), out, w)
			}
		}
	}
	none := filepath.Join(t.TempDir(), "no-home")
	if r := cloud(t, none, "deploy", "--generate-bash-completion"); r.code != 0 || strings.Contains(r.stdout, "D") {
		t.Errorf("completion without a home: exit %d, %q", r.code, r.stdout)
	}
	if _, err := os.Stat(none); err == nil {
		t.Error("completion created a home")
	}
}
