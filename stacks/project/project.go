// Package project reads an existing Pulumi project directory (a Pulumi.yaml
// and a program in any runtime) as a stack program: its template (inputs
// from the project's config schema, outputs from a YAML program or a
// declaration file), the identity of its files for smart skip, and the
// workspace project file cloud runs it from, so the user's directory is
// never written.
package project

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"go.yaml.in/yaml/v3"
)

// DeclarationFile is the optional file beside Pulumi.yaml that declares
// what the project's Pulumi.yaml cannot: its outputs (for runtimes other
// than YAML), default dependencies and a description for cloud.
const DeclarationFile = "cloud-stack.yaml"

// projectFiles are the names Pulumi accepts for a project file, in the
// order it looks for them.
var projectFiles = []string{"Pulumi.yaml", "Pulumi.yml"}

// ErrNoProject is returned when a directory holds no Pulumi project file.
var ErrNoProject = errors.New("no Pulumi.yaml or Pulumi.yml")

// Project is a Pulumi project directory loaded for cloud.
type Project struct {
	// Dir is the project's absolute directory; File its project file.
	Dir  string
	File string
	// Pulumi is the project as Pulumi reads it.
	Pulumi *workspace.Project
	// Declared is the content of the declaration file, if there is one.
	Declared *Declaration
}

// Declaration is the content of cloud-stack.yaml.
type Declaration struct {
	Description  string                     `yaml:"description"`
	Dependencies []string                   `yaml:"dependencies"`
	Outputs      map[string]protocol.Output `yaml:"outputs"`
}

// IsProject reports whether dir holds a Pulumi project file.
func IsProject(dir string) bool {
	_, err := findFile(dir)
	return err == nil
}

func findFile(dir string) (string, error) {
	for _, name := range projectFiles {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", dir, ErrNoProject)
}

// Load reads the Pulumi project in dir. Errors name the file and what is
// wrong with it; they never carry a program's output.
func Load(dir string) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	file, err := findFile(abs)
	if err != nil {
		return nil, err
	}
	proj, err := workspace.LoadProject(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &Project{Dir: abs, File: file, Pulumi: proj}
	declFile := filepath.Join(abs, DeclarationFile)
	if body, err := os.ReadFile(declFile); err == nil {
		var d Declaration
		dec := yaml.NewDecoder(strings.NewReader(string(body)))
		dec.KnownFields(true)
		if err := dec.Decode(&d); err != nil && !errors.Is(err, errEOF) {
			return nil, fmt.Errorf("%s: %w", declFile, err)
		}
		for name, o := range d.Outputs {
			if !validType(o.Type) {
				return nil, fmt.Errorf("%s: output %q: type %q is not one of string, number, boolean, array, object", declFile, name, o.Type)
			}
		}
		p.Declared = &d
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return p, nil
}

// errEOF is what decoding an empty declaration file returns.
var errEOF = func() error {
	var v any
	return yaml.NewDecoder(strings.NewReader("")).Decode(&v)
}()

// Name is the Pulumi project name: its config namespace.
func (p *Project) Name() string { return string(p.Pulumi.Name) }

// Runtime is the project's language runtime (yaml, nodejs, python, go, …).
func (p *Project) Runtime() string { return p.Pulumi.Runtime.Name() }

// ProgramDir is the directory the project's program lives in (its main).
func (p *Project) ProgramDir() string {
	main := p.Pulumi.Main
	if main == "" {
		return p.Dir
	}
	if !filepath.IsAbs(main) {
		main = filepath.Join(p.Dir, main)
	}
	if fi, err := os.Stat(main); err == nil && !fi.IsDir() {
		return filepath.Dir(main)
	}
	return main
}

// Template is the stack template the project declares: inputs from its
// config schema (a project without one accepts any input), outputs from its
// YAML program and its declaration file.
func (p *Project) Template() protocol.Template {
	t := protocol.Template{
		Name:    p.Name(),
		Inputs:  map[string]protocol.Input{},
		Outputs: map[string]protocol.Output{},
		Project: &protocol.Project{Name: p.Name(), Runtime: p.Runtime(), Dir: p.Dir},
	}
	if p.Pulumi.Description != nil {
		t.Description = *p.Pulumi.Description
	}
	for key, c := range p.Pulumi.Config {
		name, ok := p.inputName(key)
		if !ok || c.Value != nil {
			// Another package's config (aws:region) or a value fixed by
			// the project is not an input of the stack.
			continue
		}
		in := protocol.Input{Type: inputType(c), Secret: c.Secret, Default: c.Default, Description: c.Description}
		in.Required = c.Default == nil
		t.Inputs[name] = in
	}
	if len(t.Inputs) == 0 && len(p.Pulumi.Config) == 0 {
		t.AnyInputs = true
	}
	if p.Runtime() == "yaml" {
		if prog, err := p.yamlProgram(); err == nil {
			for name, o := range prog.outputs {
				t.Outputs[name] = o
			}
		}
	}
	if d := p.Declared; d != nil {
		if d.Description != "" {
			t.Description = d.Description
		}
		t.Dependencies = d.Dependencies
		for name, o := range d.Outputs {
			t.Outputs[name] = o
		}
	}
	// Outputs cloud cannot know before a deploy: any name is accepted
	// until one records what the program exported.
	if len(t.Outputs) == 0 && p.Runtime() != "yaml" {
		t.AnyOutputs = true
	}
	return t
}

// inputName maps a project config key to the stack input it is: "region"
// and "<project>:region" are the input "region"; "aws:region" is not one.
func (p *Project) inputName(key string) (string, bool) {
	ns, name, found := strings.Cut(key, ":")
	if !found {
		return key, true
	}
	return name, ns == p.Name()
}

func inputType(c workspace.ProjectConfigType) string {
	switch c.TypeName() {
	case "integer":
		return protocol.TypeNumber
	case "boolean":
		return protocol.TypeBoolean
	case "array":
		return protocol.TypeArray
	case "object":
		return protocol.TypeObject
	case "string":
		return protocol.TypeString
	}
	return typeOf(c.Default)
}

func validType(t string) bool {
	switch t {
	case protocol.TypeString, protocol.TypeNumber, protocol.TypeBoolean, protocol.TypeArray, protocol.TypeObject:
		return true
	}
	return false
}

// typeOf is the protocol type of a value decoded from YAML or JSON; text
// when unknown.
func typeOf(v any) string {
	switch v.(type) {
	case bool:
		return protocol.TypeBoolean
	case int, int64, uint64, float64, float32:
		return protocol.TypeNumber
	case []any:
		return protocol.TypeArray
	case map[string]any:
		return protocol.TypeObject
	}
	return protocol.TypeString
}

// Validation is what can be told of the project without running it: for a
// YAML program, the config it references and the outputs it exports (with
// types as far as its text says); for other runtimes, the declared
// template and a note that the program was not checked.
func (p *Project) Validation() protocol.Validation {
	t := p.Template()
	v := protocol.Validation{Outputs: map[string]protocol.ValidationOutput{}}
	if p.Runtime() != "yaml" {
		v.InputsRead = sortedKeys(t.Inputs)
		for name, o := range t.Outputs {
			v.Outputs[name] = protocol.ValidationOutput{Type: o.Type, Secret: o.Secret}
		}
		v.Note = fmt.Sprintf("a %s program is not run by validation: its outputs are checked when it deploys", p.Runtime())
		return v
	}
	prog, err := p.yamlProgram()
	if err != nil {
		v.Error = err.Error()
		return v
	}
	v.InputsRead = prog.configRead(t.Inputs, p.Name())
	for name, o := range prog.outputs {
		v.Outputs[name] = protocol.ValidationOutput{Type: o.Type, Secret: o.Secret}
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
