package main_test

import (
	"strings"
	"testing"
)

// TestConfigSetChecksKeys: config set refuses what would store a typo (a
// stack, field or input that does not exist, a value of the wrong type)
// with a did-you-mean and exit 2, storing nothing; config unset removes a
// key and refuses one that is not set.
func TestConfigSetChecksKeys(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--template", "demo", "--org", "acme", "--project", "shop", "--id", "DCFG001")
	before := mustCloud(t, home, "config", "DCFG001").stdout
	for _, tc := range []struct {
		key, value, want string
	}{
		{"stacks.app.config.replicaz", "3", `program demo-app has no input "replicaz" (did you mean "replicas"?)`},
		{"stacks.ap.config.replicas", "3", `has no stack "ap" (did you mean "app"?)`},
		{"stacks.app.confg.replicas", "3", `a stack has no field "confg" (did you mean "config"?)`},
		{"stacks.app.config.replicas", "abc", `input "replicas" of program demo-app is a number, but abc is a string`},
		{"stacks.app.environments.prdo.config.replicas", "3", `has no environment "prdo"`},
	} {
		r := cloud(t, home, "config", "set", "DCFG001", tc.key, tc.value)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("config set %s %s: exit %d, %q; want exit 2 and %q", tc.key, tc.value, r.code, r.stderr, tc.want)
		}
	}
	if after := mustCloud(t, home, "config", "DCFG001").stdout; after != before {
		t.Errorf("a refused config set changed the manifest:\n%s", after)
	}

	mustCloud(t, home, "config", "set", "DCFG001", "stacks.app.config.replicas", "5")
	mustCloud(t, home, "config", "set", "DCFG001", "stacks.extra.program", "probe") // adds a stack
	if m := mustCloud(t, home, "config", "DCFG001").stdout; !strings.Contains(m, "replicas: 5") || !strings.Contains(m, "extra:") {
		t.Errorf("config set did not store its values:\n%s", m)
	}
	mustCloud(t, home, "config", "unset", "DCFG001", "stacks.app.config.replicas")
	if m := mustCloud(t, home, "config", "DCFG001").stdout; strings.Contains(m, "replicas: 5") {
		t.Errorf("config unset left the value:\n%s", m)
	}
	if r := cloud(t, home, "config", "unset", "DCFG001", "stacks.app.config.replicas"); r.code != 2 || !strings.Contains(r.stderr, "is not set") {
		t.Errorf("config unset of a key not set: exit %d, %q", r.code, r.stderr)
	}
}
