package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemplates lists, shows, creates (from a deployment and from a
// template), updates and validates deployment templates, and inits from a
// custom one.
func TestTemplates(t *testing.T) {
	home := t.TempDir()
	type tmplJSON struct {
		Name    string
		Builtin bool
		Stacks  []string
	}
	list := items[tmplJSON](t, mustCloud(t, home, "list-templates", "-o", "json").stdout)
	builtin := map[string]int{}
	for _, tm := range list {
		if tm.Builtin {
			builtin[tm.Name] = len(tm.Stacks)
		}
	}
	if len(list) != 4 || builtin["demo"] != 6 || builtin["default"] != 16 || builtin["minimal"] != 4 || builtin["projects"] != 4 {
		t.Fatalf("list-templates = %+v, want the built-in demo (6 stacks), default (16), minimal (4) and projects (4)", list)
	}
	if out := mustCloud(t, home, "show-template", "demo").stdout; !strings.Contains(out, "vpcId: ${network.vpcId}") {
		t.Errorf("show-template demo:\n%s", out)
	}
	if out := mustCloud(t, home, "validate-template", "demo").stdout; !strings.Contains(out, "template demo is valid") {
		t.Errorf("validate-template demo:\n%s", out)
	}
	if r := cloud(t, home, "show-template", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, `template "nosuch": not found (have: default, demo, minimal, projects)`) {
		t.Errorf("unknown template: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, home, "init", "--org", "a", "--project", "b", "--template", "nosuch"); r.code != 2 || !strings.Contains(r.stderr, `unknown template "nosuch"`) {
		t.Errorf("init from an unknown template: exit %d\n%s", r.code, r.stderr)
	}

	// A copy of demo, then a patch: monitoring disabled, more replicas.
	mustCloud(t, home, "create-template", "shop", "--from-template", "demo", "--description", "our shop")
	if r := cloud(t, home, "create-template", "shop", "--from-template", "demo"); r.code != 2 {
		t.Errorf("creating an existing template: exit %d", r.code)
	}
	if r := cloud(t, home, "update-template", "demo", "--file", "/dev/null"); r.code != 2 || !strings.Contains(r.stderr, "built in") {
		t.Errorf("updating a built-in template: exit %d\n%s", r.code, r.stderr)
	}
	patch := filepath.Join(home, "patch.yaml")
	os.WriteFile(patch, []byte("stacks:\n  monitoring:\n    enabled: false\n  app:\n    config:\n      replicas: 5\n"), 0o600)
	mustCloud(t, home, "update-template", "shop", "--file", patch)
	body := mustCloud(t, home, "show-template", "shop").stdout
	for _, want := range []string{"description: our shop", "replicas: 5", "dbEndpoint: ${database.endpoint}", "enabled: false"} {
		if !strings.Contains(body, want) {
			t.Errorf("merged template lacks %q:\n%s", want, body)
		}
	}

	// A patch that breaks the graph is refused and changes nothing.
	os.WriteFile(patch, []byte("stacks:\n  network:\n    dependencies: [monitoring]\n"), 0o600)
	if r := cloud(t, home, "update-template", "shop", "--file", patch); r.code != 2 {
		t.Errorf("update making a dependency on a disabled stack: exit %d\n%s", r.code, r.stderr)
	}
	if again := mustCloud(t, home, "show-template", "shop").stdout; again != body {
		t.Errorf("a refused update changed the template")
	}

	// validate-template finds what the programs do not declare.
	os.WriteFile(patch, []byte("stacks:\n  app:\n    config:\n      replicas: many\n      colour: blue\n"), 0o600)
	mustCloud(t, home, "update-template", "shop", "--file", patch)
	r := cloud(t, home, "validate-template", "shop")
	if r.code != 1 || !strings.Contains(r.stdout, `input "replicas" is a number, but the value is a string`) ||
		!strings.Contains(r.stdout, `program demo-app has no input "colour"`) {
		t.Errorf("validate-template shop: exit %d\n%s", r.code, r.stdout)
	}

	// init from the custom template, and a template from a deployment.
	id := strings.TrimSpace(mustCloud(t, home, "init", "--org", "acme", "--project", "shop", "--template", "shop", "--id", "DTMPL01").stdout)
	m := mustCloud(t, home, "config", id).stdout
	if !strings.Contains(m, "template: shop") || !strings.Contains(m, "colour: blue") {
		t.Errorf("manifest from template shop:\n%s", m)
	}
	mustCloud(t, home, "create-template", "from-dep", "--from-deployment", id)
	list = items[tmplJSON](t, mustCloud(t, home, "list-templates", "-o", "json").stdout)
	if len(list) != 6 { // default, demo, minimal, projects, shop, from-dep
		t.Errorf("list-templates after creating two: %+v", list)
	}
}
