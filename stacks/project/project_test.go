package project_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/project"
	"github.com/cloudplatform/cloud/stacks/protocol"
)

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad_Template(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Pulumi.yml", `name: api
runtime: nodejs
description: the API
config:
  replicas: {type: integer, default: 2, description: how many}
  api:token: {type: string, secret: true}
  tags: {type: array, items: {type: string}, default: [a]}
  aws:region: {value: eu-west-1}
`)
	write(t, dir, project.DeclarationFile, `dependencies: [network]
outputs:
  url: {type: string, description: the URL}
  key: {type: string, secret: true}
`)
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm := p.Template()
	if tm.Name != "api" || tm.Description != "the API" || tm.Project == nil || tm.Project.Runtime != "nodejs" || tm.Project.Dir != dir {
		t.Fatalf("template %+v", tm)
	}
	want := map[string]protocol.Input{
		"replicas": {Type: "number", Default: 2, Description: "how many"},
		"token":    {Type: "string", Secret: true, Required: true},
		"tags":     {Type: "array", Default: []any{"a"}},
	}
	if len(tm.Inputs) != len(want) {
		t.Errorf("inputs %v, want %v (aws:region is another package's, and fixed)", tm.Inputs, want)
	}
	for k, w := range want {
		got := tm.Inputs[k]
		if got.Type != w.Type || got.Secret != w.Secret || got.Required != w.Required || got.Description != w.Description {
			t.Errorf("input %s = %+v, want %+v", k, got, w)
		}
	}
	if tm.AnyInputs || tm.AnyOutputs {
		t.Errorf("anyInputs %v anyOutputs %v: the project declares both", tm.AnyInputs, tm.AnyOutputs)
	}
	if o := tm.Outputs["key"]; !o.Secret || len(tm.Outputs) != 2 || tm.Dependencies[0] != "network" {
		t.Errorf("outputs %v dependencies %v", tm.Outputs, tm.Dependencies)
	}
}

func TestLoad_Undeclared(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Pulumi.yaml", "name: bare\nruntime: python\n")
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tm := p.Template(); !tm.AnyInputs || !tm.AnyOutputs {
		t.Errorf("a project that declares nothing: anyInputs %v anyOutputs %v, want both", tm.AnyInputs, tm.AnyOutputs)
	}
	v := p.Validation()
	if v.Note == "" || v.Error != "" {
		t.Errorf("validation of a python project: %+v, want a note that it was not run", v)
	}
}

func TestLoad_Errors(t *testing.T) {
	dir := t.TempDir()
	if _, err := project.Load(dir); !errors.Is(err, project.ErrNoProject) {
		t.Errorf("empty directory: %v", err)
	}
	write(t, dir, "Pulumi.yaml", "name: x\nruntime: yaml\n")
	write(t, dir, project.DeclarationFile, "outputs:\n  url: {type: text}\n")
	if _, err := project.Load(dir); err == nil || !strings.Contains(err.Error(), `output "url": type "text"`) || !strings.Contains(err.Error(), project.DeclarationFile) {
		t.Errorf("bad output type: %v", err)
	}
	write(t, dir, project.DeclarationFile, "outptus: {}\n")
	if _, err := project.Load(dir); err == nil || !strings.Contains(err.Error(), "outptus") {
		t.Errorf("unknown field: %v", err)
	}
	write(t, dir, "Pulumi.yaml", "runtime: yaml\n")
	if _, err := project.Load(dir); err == nil || !strings.Contains(err.Error(), "Pulumi.yaml") {
		t.Errorf("a project without a name: %v", err)
	}
}

func TestValidation_YAML(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Pulumi.yaml", `name: site
runtime: yaml
config:
  title: {type: string}
  unused: {type: string, default: x}
resources:
  f:
    type: localfile:index:File
    properties: {path: /tmp/x, content: "${site:title}"}
outputs:
  path: ${f.path}
  count: 3
  secret: {fn::secret: "${title}"}
  list: {fn::split: [",", "a,b"]}
`)
	p, err := project.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	v := p.Validation()
	if len(v.InputsRead) != 1 || v.InputsRead[0] != "title" {
		t.Errorf("inputs read %v, want [title] (unused is never referenced)", v.InputsRead)
	}
	want := map[string]protocol.ValidationOutput{
		"path": {Type: "string"}, "count": {Type: "number"}, "secret": {Type: "string", Secret: true}, "list": {Type: "array"},
	}
	for k, w := range want {
		if v.Outputs[k] != w {
			t.Errorf("output %s = %+v, want %+v", k, v.Outputs[k], w)
		}
	}
}

func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "Pulumi.yaml", "name: x\nruntime: nodejs\n")
	write(t, dir, "index.ts", "export {}\n")
	hash := func(path string) (string, error) {
		b, err := os.ReadFile(path)
		return string(b), err
	}
	id := func() string {
		t.Helper()
		s, err := project.Identity(dir, hash)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := id()
	// What never changes the program as cloud runs it.
	write(t, dir, "node_modules/left-pad/index.js", "x")
	write(t, dir, ".git/HEAD", "ref")
	write(t, dir, "Pulumi.dev.yaml", "config: {}")
	write(t, dir, "env/pyvenv.cfg", "home = /usr")
	write(t, dir, "env/lib/site.py", "x")
	write(t, dir, "src/__pycache__/a.pyc", "x")
	if got := id(); got != base {
		t.Errorf("identity changed with ignored files")
	}
	// What does.
	write(t, dir, "src/lib.ts", "export const a = 1\n")
	added := id()
	if added == base {
		t.Errorf("identity unchanged after adding a source file")
	}
	write(t, dir, "src/lib.ts", "export const a = 2\n")
	if id() == added {
		t.Errorf("identity unchanged after editing a source file")
	}
	os.Rename(filepath.Join(dir, "src", "lib.ts"), filepath.Join(dir, "src", "lib2.ts"))
	if id() == added {
		t.Errorf("identity unchanged after renaming a source file")
	}
}

// FuzzLoad feeds arbitrary declaration files: Load either refuses with an
// error naming the file or returns a template whose outputs all have a
// valid type.
func FuzzLoad(f *testing.F) {
	f.Add("outputs:\n  url: {type: string}\n")
	f.Add("dependencies: [a, b]\ndescription: x\n")
	f.Add("outputs: [1, 2]\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		dir := t.TempDir()
		write(t, dir, "Pulumi.yaml", "name: x\nruntime: yaml\n")
		write(t, dir, project.DeclarationFile, body)
		p, err := project.Load(dir)
		if err != nil {
			if !strings.Contains(err.Error(), project.DeclarationFile) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for name, o := range p.Template().Outputs {
			switch o.Type {
			case "string", "number", "boolean", "array", "object":
			default:
				t.Fatalf("output %q has type %q", name, o.Type)
			}
		}
	})
}
