package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigEdit: `config edit` runs $EDITOR on the manifest and stores
// what it saved as a new revision; an unchanged file, a broken file and a
// failing editor store nothing.
func TestConfigEdit(t *testing.T) {
	home := t.TempDir()
	id := strings.TrimSpace(mustCloud(t, home, "init", "--id", "DEDIT01", "--org", "acme", "--project", "shop").stdout)
	script := func(name, body string) string {
		p := filepath.Join(home, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	edit := func(editor string) result {
		return cloudEnv(t, home, []string{"VISUAL=", "EDITOR=" + editor, "CLOUD_STACKS_DIR=" + filepath.Join(home, "no-stacks")}, "config", "edit", id)
	}
	if r := edit(script("bump.sh", `sed -i 's/replicas: 2/replicas: 4/' "$1"`)); r.code != 0 || !strings.Contains(r.stderr, "stored revision 2") {
		t.Fatalf("edit: exit %d\n%s", r.code, r.stderr)
	}
	if m := mustCloud(t, home, "config", id).stdout; !strings.Contains(m, "replicas: 4") {
		t.Errorf("the edited manifest is not current:\n%s", m)
	}

	if r := edit("true"); r.code != 0 || !strings.Contains(r.stderr, "no change") {
		t.Errorf("an unchanged file: exit %d\n%s", r.code, r.stderr)
	}
	r := edit(script("break.sh", `sed -i 's/dependencies: \[database, storage\]/dependencies: [nosuch]/' "$1"`))
	if r.code != 2 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("a broken file: exit %d\n%s", r.code, r.stderr)
	}
	if r := edit("false"); r.code != 1 || !strings.Contains(r.stderr, "nothing stored") {
		t.Errorf("a failing editor: exit %d\n%s", r.code, r.stderr)
	}
	if r := cloud(t, home, "config", id, "--revision", "3"); r.code == 0 {
		t.Errorf("a revision 3 exists after edits that should have stored nothing:\n%s", r.stdout)
	}
}
