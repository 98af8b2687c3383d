package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// yamlHost skips a test that needs the Pulumi YAML language host when this
// machine has none (tools/install/pulumi.sh builds it next to the CLI).
func yamlHost(t *testing.T) {
	t.Helper()
	if p := os.Getenv("CLOUD_PULUMI"); p != "" {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "pulumi-language-yaml")); err == nil {
			return
		}
	}
	if _, err := exec.LookPath("pulumi-language-yaml"); err == nil {
		return
	}
	t.Skip("no pulumi-language-yaml (tools/install/pulumi.sh builds it)")
}

// copyProject copies an example project of stacks/projects into dir, so a
// test can edit it.
func copyProject(t *testing.T, name, dir string) string {
	t.Helper()
	src := filepath.Join("..", "..", "stacks", "projects", name)
	dst := filepath.Join(dir, name)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// treeSum is one hash of every file's path, mode and content under dir:
// equal sums mean byte-identical trees.
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		h.Write([]byte(rel + "\x00" + fi.Mode().String() + "\x00"))
		if !d.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func statuses(rep reportJSON) map[string]string {
	out := map[string]string{}
	for _, s := range rep.Stacks {
		out[s.Stack] = s.Status
	}
	return out
}

func wantStatuses(t *testing.T, what string, rep reportJSON, want map[string]string) {
	t.Helper()
	got := statuses(rep)
	for stack, w := range want {
		if got[stack] != w {
			t.Errorf("%s: %s is %q, want %q (all: %v)", what, stack, got[stack], w, rep.Stacks)
		}
	}
}

// projectsManifest wires kit programs and two Pulumi YAML projects by
// placeholders both ways: network (kit) → site (project) → cdn (project)
// → monitoring (kit). title is the site's title.
func projectsManifest(sites, title string) string {
	return `version: 1
deployment_id: DPROJ01
organization: acme
project: proj
environments:
  dev: {region: eu-west-1}
stacks:
  network:
    program: demo-network
    config: {cidr: 10.2.0.0/16, azCount: 2, region: "${env.region}"}
  site:
    program: site
    config:
      directory: ` + sites + `
      title: ` + title + `
      apiUrl: https://api.example.internal/${network.vpcId}
      replicas: 3
  cdn:
    program: cdn
    config:
      directory: ` + sites + `
      origin: "${site.url}#${site.indexSha256}"
      token: s3cret-token
  monitoring:
    program: demo-monitoring
    config:
      serviceName: cdn
      url: ${cdn.endpoint}
`
}

// TestProjectStacks runs existing Pulumi projects (YAML, with the
// localfile provider) as stacks beside kit programs, through the real
// engine and language host: registration by directory, deploy, outputs,
// smart skip, an edited project file, an upstream change reaching its
// dependent, drift found and repaired, destroy — and the project
// directories byte-identical at the end.
func TestProjectStacks(t *testing.T) {
	yamlHost(t)
	home := t.TempDir()
	projects := t.TempDir()
	site := copyProject(t, "site", projects)
	cdn := copyProject(t, "cdn", projects)
	sites := filepath.Join(t.TempDir(), "sites")

	reg := mustCloud(t, home, "register-stack", site)
	if !strings.Contains(reg.stderr, "registered stack site") {
		t.Errorf("register-stack %s: %q", site, reg.stderr)
	}
	mustCloud(t, home, "register-stack", cdn)
	// A stack's inputs and outputs are lists of named fields.
	type field struct {
		Name, Type       string
		Required, Secret bool
	}
	fields := func(fs []field) map[string]field {
		m := map[string]field{}
		for _, f := range fs {
			m[f.Name] = f
		}
		return m
	}
	list := items[struct {
		Name            string
		Kind            string
		Project         *struct{ Name, Runtime, Dir string }
		Inputs, Outputs []field
		Dependencies    []string
	}](t, mustCloud(t, home, "list-stacks", "-o", "json").stdout)
	byName := map[string]int{}
	for i, s := range list {
		byName[s.Name] = i
	}
	s := list[byName["site"]]
	if s.Kind != "project" || s.Project == nil || s.Project.Runtime != "yaml" || s.Project.Dir != site {
		t.Fatalf("site registered as %+v, want a yaml project from %s", s.Project, site)
	}
	if in := fields(s.Inputs)["replicas"]; in.Type != "number" || in.Required {
		t.Errorf("site input replicas: %+v, want an optional number (integer with a default)", in)
	}
	if in := fields(s.Inputs)["apiUrl"]; in.Type != "string" || !in.Required {
		t.Errorf("site input apiUrl: %+v, want a required string", in)
	}
	if o := fields(s.Outputs)["pages"]; o.Type != "number" {
		t.Errorf("site output pages: %+v, want a number (a literal of the YAML program)", o)
	}
	c := list[byName["cdn"]]
	if o := fields(c.Outputs)["token"]; !o.Secret || c.Dependencies[0] != "site" {
		t.Errorf("cdn: token %+v, dependencies %v; want a secret output and [site] from cloud-stack.yaml", o, c.Dependencies)
	}
	before := map[string]string{site: treeSum(t, site), cdn: treeSum(t, cdn)}

	file := filepath.Join(home, "m.yaml")
	os.WriteFile(file, []byte(projectsManifest(sites, "Hello")), 0o600)
	mustCloud(t, home, "init", "--from-file", file)
	if r := mustCloud(t, home, "validate", "deployment", "DPROJ01"); !strings.Contains(r.stdout+r.stderr, "valid") {
		t.Errorf("validate deployment: %q %q", r.stdout, r.stderr)
	}

	rep := decode[reportJSON](t, mustCloud(t, home, "deploy", "DPROJ01", "-o", "json").stdout)
	wantStatuses(t, "first deploy", rep, map[string]string{"network": "deployed", "site": "deployed", "cdn": "deployed", "monitoring": "deployed"})
	outs := outputsOf(t, mustCloud(t, home, "outputs", "DPROJ01", "-o", "json").stdout)
	url := filepath.Join(sites, "index.html")
	if got := outs["site"]["url"]; got != "file://"+url {
		t.Errorf("site.url = %v, want file://%s", got, url)
	}
	if got := outs["cdn"]["token"]; got != "[secret]" {
		t.Errorf("cdn.token printed as %v, want it redacted", got)
	}
	shown := outputsOf(t, mustCloud(t, home, "outputs", "DPROJ01", "cdn", "--show-secrets", "-o", "json").stdout)
	if got := shown["cdn"]["token"]; got != "s3cret-token" {
		t.Errorf("cdn.token with --show-secrets = %v, want the secret's value s3cret-token", got)
	}
	if got, _ := outs["cdn"]["origin"].(string); !strings.HasPrefix(got, "file://"+url+"#") {
		t.Errorf("cdn.origin = %q: the site's outputs did not reach the cdn's config", got)
	}
	if b, err := os.ReadFile(url); err != nil || !strings.Contains(string(b), "<h1>Hello</h1>") || !strings.Contains(string(b), "https://api.example.internal/vpc-") {
		t.Errorf("the site project did not write its page with the network's output: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(sites, "cdn-token")); err != nil || string(b) != "s3cret-token" {
		t.Errorf("cdn-token: %q %v (the secret config did not reach the program)", b, err)
	}
	conf := func() string {
		b, _ := os.ReadFile(filepath.Join(sites, "cdn.conf"))
		return string(b)
	}
	firstConf := conf()

	// What the deploy recorded (site.indexSha256's real type, say) does not
	// make validation fail.
	for _, name := range []string{"site", "cdn"} {
		if r := cloud(t, home, "validate-stack", name, "--strict"); r.code != 0 {
			t.Errorf("validate-stack %s --strict after a deploy: exit %d\n%s%s", name, r.code, r.stdout, r.stderr)
		}
	}

	again := decode[reportJSON](t, mustCloud(t, home, "deploy", "DPROJ01", "-o", "json").stdout)
	wantStatuses(t, "deploy with no change", again, map[string]string{"network": "unchanged", "site": "unchanged", "cdn": "unchanged", "monitoring": "unchanged"})

	// Any file of the project is part of its identity.
	os.WriteFile(filepath.Join(site, "NOTES.md"), []byte("notes\n"), 0o644)
	edited := decode[reportJSON](t, mustCloud(t, home, "deploy", "DPROJ01", "-o", "json").stdout)
	wantStatuses(t, "deploy after a project file was added", edited, map[string]string{"site": "deployed", "cdn": "unchanged", "network": "unchanged"})
	os.Remove(filepath.Join(site, "NOTES.md"))

	// An upstream config change reaches its dependents through their
	// outputs: the site's page hash is in the cdn's origin, the cdn's
	// config hash in its endpoint, which monitoring (a kit stack) reads.
	os.WriteFile(file, []byte(projectsManifest(sites, "Bonjour")), 0o600)
	mustCloud(t, home, "config", "DPROJ01", "--from-file", file)
	changed := decode[reportJSON](t, mustCloud(t, home, "deploy", "DPROJ01", "-o", "json").stdout)
	wantStatuses(t, "deploy after the site's title changed", changed, map[string]string{"network": "unchanged", "site": "deployed", "cdn": "deployed", "monitoring": "deployed"})
	if b, _ := os.ReadFile(url); !strings.Contains(string(b), "<h1>Bonjour</h1>") {
		t.Errorf("the new title did not reach the page: %q", b)
	}
	if conf() == firstConf {
		t.Errorf("cdn.conf did not change with the site's new content hash: %q", conf())
	}

	// Drift: a hand edit of a file the project manages.
	os.WriteFile(url, []byte("defaced"), 0o644)
	drift := decode[reportJSON](t, mustCloud(t, home, "refresh", "DPROJ01", "-o", "json").stdout)
	for _, s := range drift.Stacks {
		switch {
		case s.Stack == "site" && (s.Status != "drifted" || !strings.Contains(s.Reason, "index")):
			t.Errorf("refresh after the edit: site %s %q, want drifted naming index", s.Status, s.Reason)
		case s.Stack != "site" && s.Status != "in_sync":
			t.Errorf("refresh after the edit: %s %s, want in_sync", s.Stack, s.Status)
		}
	}
	fix := decode[reportJSON](t, mustCloud(t, home, "deploy", "DPROJ01", "-o", "json").stdout)
	wantStatuses(t, "deploy after drift", fix, map[string]string{"site": "deployed", "cdn": "unchanged"})
	if b, _ := os.ReadFile(url); !strings.Contains(string(b), "<h1>Bonjour</h1>") {
		t.Errorf("deploy did not repair the page: %q", b)
	}

	mustCloud(t, home, "destroy", "DPROJ01", "--yes")
	for _, f := range []string{"index.html", "site.json", "cdn.conf", "cdn-token"} {
		if _, err := os.Stat(filepath.Join(sites, f)); !os.IsNotExist(err) {
			t.Errorf("after destroy %s still exists (%v)", f, err)
		}
	}
	for dir, sum := range before {
		if got := treeSum(t, dir); got != sum {
			t.Errorf("project %s changed on disk: cloud must never write into a project", dir)
		}
	}
	// The Pulumi stacks say whose they are, in cloud's workspace.
	settings, _ := filepath.Glob(filepath.Join(home, "workspaces", "DPROJ01", "site-dev", "Pulumi.*.yaml"))
	if len(settings) != 1 || filepath.Base(settings[0]) != "Pulumi.DPROJ01-acme-proj-site-dev.yaml" {
		t.Errorf("workspace stack settings: %v, want Pulumi.DPROJ01-acme-proj-site-dev.yaml", settings)
	}
}

// TestProjectStackRefusals: what is refused, and how, before anything runs.
func TestProjectStackRefusals(t *testing.T) {
	home := t.TempDir()
	projects := t.TempDir()
	site := copyProject(t, "site", projects)
	mustCloud(t, home, "register-stack", site)

	// Not a project, not a program: a usage error that says so.
	empty := t.TempDir()
	if r := cloud(t, home, "register-stack", empty); r.code != 2 || !strings.Contains(r.stderr, "no Pulumi.yaml") || r.stdout != "" {
		t.Errorf("register-stack of an empty directory: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// A config key typo, refused with did-you-mean before any deploy.
	typo := strings.Replace(projectsManifest(filepath.Join(home, "sites"), "Hello"), "      title: Hello", "      titel: Hello", 1)
	typo = typo[:strings.Index(typo, "  cdn:")]
	file := filepath.Join(home, "typo.yaml")
	os.WriteFile(file, []byte(typo), 0o600)
	mustCloud(t, home, "init", "--from-file", file)
	r := cloud(t, home, "validate", "deployment", "DPROJ01")
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, `has no input "titel" (did you mean "title"?)`) {
		t.Errorf("validate with a typo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := cloud(t, home, "deploy", "DPROJ01"); r.code == 0 || !strings.Contains(r.stderr, `"titel"`) {
		t.Errorf("deploy with a typo: exit %d, stderr %q", r.code, r.stderr)
	}

	// A path as program: is refused with what to do instead.
	path := strings.Replace(typo, "program: site", "program: ./site", 1)
	os.WriteFile(file, []byte(strings.Replace(path, "DPROJ01", "DPROJ02", 1)), 0o600)
	if r := cloud(t, home, "init", "--from-file", file); r.code != 2 || !strings.Contains(r.stderr, "cloud register-stack ./site") {
		t.Errorf("init with program: ./site: exit %d, stderr %q", r.code, r.stderr)
	}

	// A runtime whose language host this machine lacks: refused before
	// any stack runs, naming the runtime.
	if _, err := exec.LookPath("pulumi-language-nodejs"); err == nil {
		t.Skip("this machine has the Node.js language host")
	}
	node := filepath.Join(projects, "api")
	os.MkdirAll(node, 0o755)
	os.WriteFile(filepath.Join(node, "Pulumi.yaml"), []byte("name: api\nruntime: nodejs\n"), 0o644)
	os.WriteFile(filepath.Join(node, "index.js"), []byte("module.exports = {};\n"), 0o644)
	mustCloud(t, home, "register-stack", node)
	m := `version: 1
deployment_id: DNODE01
organization: acme
project: node
environments:
  dev: {region: eu-west-1}
stacks:
  network:
    program: demo-network
    config: {cidr: 10.3.0.0/16, azCount: 2, region: eu-west-1}
  api:
    program: api
    dependencies: [network]
    config: {anything: goes}
`
	os.WriteFile(file, []byte(m), 0o600)
	mustCloud(t, home, "init", "--from-file", file)
	if r := mustCloud(t, home, "validate", "deployment", "DNODE01"); !strings.Contains(r.stdout+r.stderr, "declares no config schema") {
		t.Errorf("validate of a project without a config schema does not warn: %q %q", r.stdout, r.stderr)
	}
	r = cloud(t, home, "deploy", "DNODE01")
	if r.code == 0 || !strings.Contains(r.stderr, "nodejs language host (pulumi-language-nodejs) is not installed") {
		t.Errorf("deploy with a missing language host: exit %d, stderr %q", r.code, r.stderr)
	}
	if st := stackStatuses(t, home, "DNODE01"); st["network"] != "not_deployed" {
		t.Errorf("a stack ran although the deploy was refused: %v", st)
	}
}
