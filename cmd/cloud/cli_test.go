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

// TestRefusals checks the error paths shared by many commands: unknown
// deployments, stacks, operations and templates, and destructive commands
// without --yes. None of them records anything.
func TestRefusals(t *testing.T) {
	home := t.TempDir()
	id := strings.TrimSpace(mustCloud(t, home, "init", "--id", "DREFUSE", "--org", "acme", "--project", "shop").stdout)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"destroy", id, "-e", "dev"}, 2, "Refusing without --yes"},
		{[]string{"destroy-stack", id, "app", "-e", "dev"}, 2, "Refusing without --yes"},
		{[]string{"deploy-stack", id, "nosuch"}, 2, `has no stack "nosuch"`},
		{[]string{"outputs", id, "nosuch"}, 2, `has no stack "nosuch"`},
		{[]string{"deploy", id, "-e", "qa"}, 2, `has no environment "qa" (have: dev, stage, prod)`},
		{[]string{"deploy", "DNOSUCH"}, 1, "deployment DNOSUCH: not found"},
		{[]string{"logs", "DNOSUCH"}, 1, "not found"},
		{[]string{"logs", id}, 1, "has no operation yet"},
		{[]string{"rollback", id, "--to", "op-000000000000-000000"}, 1, "operation op-000000000000-000000: not found"},
		{[]string{"cancel", "op-000000000000-000000"}, 1, "operation op-000000000000-000000: not found"},
		{[]string{"cancel", "op-nosuch"}, 2, `malformed operation ID "op-nosuch": an operation ID is "op-"`},
		{[]string{"status", "d1brv40"}, 2, `malformed deployment ID "d1brv40": a deployment ID is "D"`},
		{[]string{"deploy", id, "--parallel", "0"}, 2, "--parallel must be between 1 and 64, not 0"},
		{[]string{"deploy", id, "--resume"}, 2, "nothing to resume"},
		{[]string{"config", "set", id, "stacks.app.config.x", "[unclosed"}, 2, "value"},
		{[]string{"status"}, 2, "want arguments [ID]"},
	}
	for _, c := range cases {
		r := cloud(t, home, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("cloud %s: exit %d, want %d with %q\n%s", strings.Join(c.args, " "), r.code, c.code, c.want, r.stderr)
		}
	}
	if h := strings.TrimSpace(mustCloud(t, home, "history", id, "-o", "json").stdout); !emptyList(h) {
		t.Errorf("refused commands recorded operations: %s", h)
	}
	if m := mustCloud(t, home, "config", id, "-o", "json").stdout; !strings.Contains(m, `"revision": 1,`) {
		t.Errorf("refused commands changed the manifest: %s", m)
	}
}

func TestLockCommands(t *testing.T) {
	home := t.TempDir()
	id := strings.TrimSpace(mustCloud(t, home, "init", "--id", "DLOCK01", "--org", "acme", "--project", "shop").stdout)
	if out := mustCloud(t, home, "lock", id, "-e", "prod", "--status").stdout; !strings.Contains(out, "prod of DLOCK01 is free") {
		t.Errorf("lock --status of a free environment: %s", out)
	}
	mustCloud(t, home, "lock", id, "-e", "prod", "--reason", "release freeze")
	if out := mustCloud(t, home, "lock", id, "-e", "prod", "--status").stdout; !strings.Contains(out, "is held by lock") || !strings.Contains(out, "release freeze") {
		t.Errorf("lock --status of a locked environment: %s", out)
	}
	r := cloud(t, home, "destroy", id, "-e", "prod", "--yes")
	if r.code != 1 || !strings.Contains(r.stderr, "is busy: lock operation") || !strings.Contains(r.stderr, "release freeze") {
		t.Errorf("destroy under a lock: exit %d\n%s", r.code, r.stderr)
	}
	mustCloud(t, home, "unlock", id, "-e", "prod")
	if r := cloud(t, home, "unlock", id, "-e", "prod"); r.code != 2 || !strings.Contains(r.stderr, "not locked") {
		t.Errorf("unlock of a free environment: exit %d\n%s", r.code, r.stderr)
	}
}
