package main_test

import (
	"strings"
	"testing"
)

// TestDelete: cloud delete and cloud delete-template ask before deleting
// (refusing without --yes when there is no terminal), delete through the
// core, and say why when they cannot.
func TestDelete(t *testing.T) {
	home := t.TempDir()
	mustCloud(t, home, "init", "--id", "DDELET1", "--org", "acme", "--project", "shop")
	if r := cloud(t, home, "delete", "DDELET1"); r.code != 2 || !strings.Contains(r.stderr, "without --yes") {
		t.Errorf("delete without --yes: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(mustCloud(t, home, "list").stdout, "DDELET1") {
		t.Fatal("the refused delete deleted")
	}
	if r := mustCloud(t, home, "delete", "DDELET1", "--yes"); !strings.Contains(r.stderr, "deleted deployment DDELET1") {
		t.Errorf("delete --yes:\n%s", r.stderr)
	}
	if strings.Contains(mustCloud(t, home, "list").stdout, "DDELET1") {
		t.Error("the deleted deployment is still listed")
	}
	if r := cloud(t, home, "delete", "DDELET1", "--yes"); r.code != 1 || !strings.Contains(r.stderr, "DDELET1") {
		t.Errorf("deleting twice: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, home, "delete", "not-an-id", "--yes"); r.code == 0 {
		t.Errorf("delete of a bad id: exit 0")
	}

	mustCloud(t, home, "create-template", "shop", "--from-template", "demo")
	if r := cloud(t, home, "delete-template", "shop"); r.code != 2 || !strings.Contains(r.stderr, "without --yes") {
		t.Errorf("delete-template without --yes: exit %d\n%s", r.code, r.stderr)
	}
	if r := mustCloud(t, home, "delete-template", "shop", "--yes"); !strings.Contains(r.stderr, "deleted template shop") {
		t.Errorf("delete-template --yes:\n%s", r.stderr)
	}
	if r := cloud(t, home, "show-template", "shop"); r.code != 1 {
		t.Errorf("show-template of the deleted template: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, home, "delete-template", "demo", "--yes"); r.code != 1 || !strings.Contains(r.stderr, "built in") {
		t.Errorf("delete-template of a built-in: exit %d\n%s", r.code, r.stderr)
	}
}
