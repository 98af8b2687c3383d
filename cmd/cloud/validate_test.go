package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestValidateDeployment breaks a demo deployment's config three ways:
// validate names each, and deploy refuses to start.
func TestValidateDeployment(t *testing.T) {
	home := t.TempDir()
	id := strings.TrimSpace(mustCloud(t, home, "init", "--id", "DVALID1", "--org", "acme", "--project", "shop", "--domain", "shop.example.com").stdout)
	if out := mustCloud(t, home, "validate", "deployment", id).stdout; !strings.Contains(out, "is valid in dev, stage, prod") {
		t.Fatalf("demo deployment not valid:\n%s", out)
	}
	// config set refuses such typos itself; a manifest file is only
	// parsed when applied, so validate is what finds them.
	var m map[string]any
	if err := yaml.Unmarshal([]byte(mustCloud(t, home, "config", id).stdout), &m); err != nil {
		t.Fatal(err)
	}
	stacks := m["stacks"].(map[string]any)
	stacks["app"].(map[string]any)["config"].(map[string]any)["replicas"] = "two"
	stacks["app"].(map[string]any)["config"].(map[string]any)["dbEndpoint"] = "${database.endpont}"
	stacks["monitoring"].(map[string]any)["config"].(map[string]any)["urll"] = "https://x"
	broken, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(home, "broken.yaml")
	if err := os.WriteFile(file, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	mustCloud(t, home, "config", id, "--from-file", file)

	r := cloud(t, home, "validate", "deployment", id, "-e", "dev")
	if r.code != 1 {
		t.Fatalf("validate of a broken deployment: exit %d\n%s", r.code, r.stdout)
	}
	for _, want := range []string{
		`dev: stacks.app.config.replicas: input "replicas" is a number, but the value is a string`,
		`dev: stacks.monitoring.config.urll: program demo-monitoring has no input "urll" (did you mean "url"?)`,
		`dev: stacks.app.config.dbEndpoint: ${database.endpont}: program demo-database of stack database declares no output "endpont" (did you mean "endpoint"?)`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("validate output lacks %q:\n%s", want, r.stdout)
		}
	}

	d := cloud(t, home, "deploy", id, "-e", "dev")
	if d.code != 2 || !strings.Contains(d.stderr, "is not valid (3 errors") {
		t.Fatalf("deploy of an invalid deployment: exit %d\n%s", d.code, d.stderr)
	}
	if h := mustCloud(t, home, "history", id, "-o", "json").stdout; !emptyList(h) {
		t.Errorf("a refused deploy recorded an operation: %s", h)
	}

	g := mustCloud(t, home, "validate", "dependencies", id).stdout
	if !strings.Contains(g, "dev: ok, 5 layers: network | security | database storage | app | monitoring") {
		t.Errorf("validate dependencies:\n%s", g)
	}
	p := mustCloud(t, home, "validate", "pulumi-access", id).stdout
	if !strings.Contains(p, "v3.274.1") || !strings.Contains(p, "true") {
		t.Errorf("validate pulumi-access:\n%s", p)
	}
}

// TestValidateAWSAccess runs the credential chain with nothing to find, and
// with credentials that STS (a closed loopback port here) cannot confirm:
// both fail fast with a clear message. No traffic leaves the machine.
func TestValidateAWSAccess(t *testing.T) {
	base := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION=eu-west-1", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"}
	run := func(extra ...string) (int, string) {
		cmd := exec.Command(cloudBin, "--home", t.TempDir(), "validate", "aws-access", "--timeout", "5s")
		cmd.Env = append(append([]string{}, base...), extra...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		return 0, string(out)
	}
	if code, out := run(); code != 1 || !strings.Contains(out, "no AWS credentials found") {
		t.Errorf("no credentials: exit %d\n%s", code, out)
	}
	code, out := run("AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_ENDPOINT_URL_STS=http://127.0.0.1:1")
	if code != 1 || !strings.Contains(out, "STS did not confirm them") {
		t.Errorf("unconfirmed credentials: exit %d\n%s", code, out)
	}
}
