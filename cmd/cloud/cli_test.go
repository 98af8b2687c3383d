package main_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestUnknownCommandSuggests(t *testing.T) {
	home := t.TempDir()
	r := cloud(t, home, "deplyo", "D1BRV40")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown command "deplyo" (did you mean "deploy"?)`) {
		t.Errorf("mistyped command: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, home, "status", "DNOSUCH"); r.code != 1 || !strings.Contains(r.stderr, "deployment DNOSUCH: not found") {
		t.Errorf("unknown deployment: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, home, "--output", "xml", "list"); r.code != 2 || !strings.Contains(r.stderr, "--output must be table, json or yaml") {
		t.Errorf("bad --output: exit %d\n%s", r.code, r.stderr)
	}
}

func TestCompletion(t *testing.T) {
	home := t.TempDir()
	for shell, want := range map[string]string{
		"bash": "complete -o bashdefault -o default -F _cloud_complete cloud",
		"zsh":  "compdef _cloud cloud",
		"fish": "complete -c cloud",
	} {
		if out := mustCloud(t, home, "completion", shell).stdout; !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q:\n%.300s", shell, want, out)
		}
	}
	if r := cloud(t, home, "completion", "tcsh"); r.code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2", r.code)
	}
	// What the scripts ask cloud: the commands that fit.
	out, err := exec.Command(cloudBin, "--home", home, "--generate-bash-completion").Output()
	if err != nil || !strings.Contains(string(out), "deploy\n") || !strings.Contains(string(out), "rollback\n") {
		t.Errorf("command candidates (%v):\n%s", err, out)
	}
}
