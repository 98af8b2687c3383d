package main_test

import (
	"os"
	"os/exec"
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

// TestCompletionScripts runs each shell's script in that shell: bash's
// completion function, zsh's (after compinit, _describe reporting its
// candidates) and fish's `complete -C` offer the environments of a
// deployment and the commands a word starts, through the cloud binary on
// PATH. A shell this machine has not is skipped.
func TestCompletionScripts(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--template", "demo", "--org", "acme", "--project", "shop", "--id", "DCOMP02")
	path := filepath.Dir(cloudBin) + string(os.PathListSeparator) + os.Getenv("PATH")
	scripts := map[string][]string{
		"bash": {"-c", `source <(cloud completion bash)
COMP_WORDS=(cloud --home "$H" deploy DCOMP02 -e ""); COMP_CWORD=6; _cloud_complete; printf '%s\n' "${COMPREPLY[@]}"
COMP_WORDS=(cloud --home "$H" deploy-s); COMP_CWORD=3; _cloud_complete; printf '%s\n' "${COMPREPLY[@]}"`},
		"zsh": {"-f", "-c", `autoload -U compinit; compinit -u -d "$H/zcompdump"; source <(cloud completion zsh)
_describe() { print -l -- "${(@P)2}" }
words=(cloud --home "$H" deploy DCOMP02 -e ""); CURRENT=6; _cloud
words=(cloud --home "$H" deploy-s); CURRENT=4; _cloud`},
		"fish": {"-c", `cloud completion fish | source
complete -C "cloud --home $H deploy DCOMP02 -e "
complete -C "cloud --home $H deploy-s"`},
	}
	for shell, argv := range scripts {
		t.Run(shell, func(t *testing.T) {
			if _, err := exec.LookPath(shell); err != nil {
				t.Skipf("no %s here", shell)
			}
			cmd := exec.Command(shell, argv...)
			cmd.Env = append(os.Environ(), "PATH="+path, "H="+home)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", shell, err, out)
			}
			for _, w := range []string{"dev", "stage", "prod", "deploy-stack"} {
				if !strings.Contains("\n"+string(out), "\n"+w+"\n") {
					t.Errorf("%s completes no %q:\n%s", shell, w, out)
				}
			}
		})
	}
}
