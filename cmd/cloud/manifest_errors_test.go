package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodManifest = `version: 1
deployment_id: DBAD001
organization: acme
project: shop
environments:
  dev:
    enabled: true
    region: eu-west-1
    account_id: "123456789012"
stacks:
  network:
    program: probe
  app:
    program: probe
    dependencies: [network]
    config:
      vpc: ${network.vpcId}
`

// TestBadManifests feeds broken manifests to init and to config
// --from-file: each error names the file, the line and the field, the exit
// code is 2, and nothing stored changes.
func TestBadManifests(t *testing.T) {
	home := t.TempDir()
	good := filepath.Join(home, "good.yaml")
	os.WriteFile(good, []byte(goodManifest), 0o600)
	mustCloud(t, home, "init", "--from-file", good)
	before := mustCloud(t, home, "config", "DBAD001").stdout

	cases := []struct {
		name, old, new string
		want           []string // substrings of the error
	}{
		{"unknown dependency", "dependencies: [network]", "dependencies: [netwrk]", []string{":15:", "stacks.app.dependencies", `"netwrk"`, `did you mean "network"`}},
		{"cycle", "  network:\n    program: probe\n", "  network:\n    program: probe\n    dependencies: [app]\n", []string{"app -> network -> app"}},
		{"bad deployment id", "deployment_id: DBAD001", "deployment_id: bad-id", []string{":2:", "deployment_id"}},
		{"bad account id", `account_id: "123456789012"`, `account_id: "1234"`, []string{":9:", "environments.dev.account_id"}},
		{"unresolvable placeholder", "${network.vpcId}", "${nowhere.vpcId}", []string{"stacks.app.config.vpc", "nowhere"}},
		{"yaml syntax", "stacks:\n", "stacks:\n  - [\n", []string{"bad.yaml:"}},
		{"unknown field", "project: shop", "project: shop\nprojet: typo", []string{":5:", "projet", `did you mean "project"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := strings.Replace(goodManifest, c.old, c.new, 1)
			if body == goodManifest {
				t.Fatalf("case does not change the manifest")
			}
			file := filepath.Join(home, "bad.yaml")
			os.WriteFile(file, []byte(body), 0o600)

			r := cloud(t, home, "config", "DBAD001", "--from-file", file)
			if r.code != 2 {
				t.Fatalf("config --from-file: exit %d, want 2\n%s", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error does not mention %q:\n%s", w, r.stderr)
				}
			}
			if !strings.Contains(r.stderr, "bad.yaml") {
				t.Errorf("error does not name the file:\n%s", r.stderr)
			}
			if after := mustCloud(t, home, "config", "DBAD001").stdout; after != before {
				t.Errorf("stored manifest changed after a rejected apply")
			}

			// The same file cannot create a deployment either.
			body2 := strings.Replace(body, "DBAD001", "DBAD002", 1)
			os.WriteFile(file, []byte(body2), 0o600)
			if r := cloud(t, home, "init", "--from-file", file); r.code != 2 {
				t.Errorf("init --from-file: exit %d, want 2\n%s", r.code, r.stderr)
			}
			if r := cloud(t, home, "status", "DBAD002"); r.code == 0 {
				t.Errorf("a rejected manifest created deployment DBAD002")
			}
		})
	}
}
