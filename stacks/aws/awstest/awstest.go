// Package awstest runs a stack of the AWS library under Pulumi's unit-test
// mocks (awskit.Mocks) and records every resource it registers, so a test
// can assert what the stack creates, with which properties, names and tags,
// and that it exports exactly its declared outputs with their types.
package awstest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource is one resource the program registered.
type Resource struct {
	Type   string         // the type token, e.g. aws:ec2/subnet:Subnet
	Name   string         // the logical (Pulumi) name
	Inputs map[string]any // plain values (secrets unwrapped)
	// Raw keeps the inputs as the engine saw them, secret markers included.
	Raw resource.PropertyMap
}

// Result is what one mocked run of a stack did.
type Result struct {
	Stack     kit.Stack
	Context   protocol.Context
	Resources []Resource
	// Values are the exported outputs; Validation has their types and what
	// the program read.
	Values     map[string]any
	Validation protocol.Validation
}

// Context is the context tests run in: deployment "d1a2b3c4" of acme/web,
// environment dev in us-east-1.
func Context(stack string) protocol.Context {
	return protocol.Context{DeploymentID: "d1a2b3c4", Organization: "acme", Project: "web",
		Environment: "dev", Region: "us-east-1", AccountID: "123456789012", Stack: stack, Domain: "example.com"}
}

type recorder struct {
	awskit.Mocks
	mu        sync.Mutex
	resources []Resource
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, state, err := r.Mocks.NewResource(args)
	if err == nil {
		r.mu.Lock()
		r.resources = append(r.resources, Resource{Type: args.TypeToken, Name: args.Name,
			Inputs: plain(args.Inputs), Raw: args.Inputs})
		r.mu.Unlock()
	}
	return id, state, err
}

// Run runs s with config (plain Go values as JSON would decode them:
// float64 numbers, []any lists, map[string]any objects) in Context(name of
// s) and fails the test if the program fails.
func Run(t testing.TB, s kit.Stack, config map[string]any) *Result {
	t.Helper()
	r := RunErr(t, s, config)
	if r.Validation.Error != "" {
		t.Fatalf("stack %s failed under mocks: %s", s.Template.Name, r.Validation.Error)
	}
	return r
}

// RunErr is Run for a program expected to fail: the error is in
// Validation.Error.
func RunErr(t testing.TB, s kit.Stack, config map[string]any) *Result {
	t.Helper()
	c := Context(s.Template.Name)
	var base awskit.Mocks
	if m, ok := s.Mocks.(awskit.Mocks); ok {
		base = m
	}
	base.Region, base.AccountID = c.Region, c.AccountID
	rec := &recorder{Mocks: base}
	cfg := make(map[string]protocol.Value, len(config))
	for k, v := range config {
		cfg[k] = protocol.Value{Value: v}
	}
	trial := kit.RunMocked(s, cfg, c, rec)
	res := &Result{Stack: s, Context: c, Values: trial.Values, Validation: trial.Validation}
	rec.mu.Lock()
	res.Resources = append(res.Resources, rec.resources...)
	rec.mu.Unlock()
	sort.SliceStable(res.Resources, func(i, j int) bool {
		if res.Resources[i].Type != res.Resources[j].Type {
			return res.Resources[i].Type < res.Resources[j].Type
		}
		return res.Resources[i].Name < res.Resources[j].Name
	})
	return res
}

// OfType returns the resources of the type token typ, sorted by name.
func (r *Result) OfType(typ string) []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// One returns the only resource of type typ whose logical name ends with
// suffix, failing the test when there is not exactly one.
func (r *Result) One(t testing.TB, typ, suffix string) Resource {
	t.Helper()
	var found []Resource
	for _, res := range r.OfType(typ) {
		if strings.HasSuffix(res.Name, suffix) {
			found = append(found, res)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s named *%s, found %d among %v", typ, suffix, len(found), r.names(typ))
	}
	return found[0]
}

func (r *Result) names(typ string) []string {
	var names []string
	for _, res := range r.OfType(typ) {
		names = append(names, res.Name)
	}
	return names
}

// AssertOutputs checks that the program exported every declared output with
// its declared type and secret flag, and nothing undeclared.
func (r *Result) AssertOutputs(t testing.TB) {
	t.Helper()
	tmpl := r.Stack.Template
	for name, decl := range tmpl.Outputs {
		got, ok := r.Validation.Outputs[name]
		switch {
		case !ok:
			t.Errorf("output %q is declared but not exported", name)
		case got.Type != decl.Type:
			t.Errorf("output %q: declared %s, exported %s (%v)", name, decl.Type, got.Type, r.Values[name])
		case got.Secret != decl.Secret:
			t.Errorf("output %q: declared secret=%v, exported secret=%v", name, decl.Secret, got.Secret)
		}
	}
	for name := range r.Validation.Outputs {
		if _, ok := tmpl.Outputs[name]; !ok {
			t.Errorf("output %q is exported but not declared", name)
		}
	}
}

// AssertNamesAndTags checks the library's rules on every resource that has
// them: a "name" (or namePrefix) input, when set, starts with
// <deploymentId>-<stack>-<environment>, and "tags", where the resource
// takes them, carry the standard tags.
func (r *Result) AssertNamesAndTags(t testing.TB, exempt ...string) {
	t.Helper()
	skip := map[string]bool{}
	for _, e := range exempt {
		skip[e] = true
	}
	prefix := awskit.Name(r.Context, "")
	want := map[string]string{"deployment": r.Context.DeploymentID, "stack": r.Context.Stack,
		"environment": r.Context.Environment, "managed-by": "cloud"}
	for _, res := range r.Resources {
		if skip[res.Type] {
			continue
		}
		if tags, ok := res.Inputs["tags"].(map[string]any); ok {
			for k, v := range want {
				if tags[k] != v {
					t.Errorf("%s %s: tag %s = %v, want %q", res.Type, res.Name, k, tags[k], v)
				}
			}
		}
		if !strings.HasPrefix(res.Name, prefix) {
			t.Errorf("%s: logical name %q does not start with %q", res.Type, res.Name, prefix)
		}
	}
}

// plain turns a property map into plain Go values, unwrapping secrets.
func plain(m resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[string(k)] = plainValue(v)
	}
	return out
}

func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plainValue(v.SecretValue().Element)
	case v.IsOutput():
		return plainValue(v.OutputValue().Element)
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = plainValue(e)
		}
		return out
	case v.IsObject():
		return plain(v.ObjectValue())
	case v.IsComputed():
		return nil
	default:
		return v.V
	}
}

var update = flag.Bool("update", false, "rewrite template.json from the stack's template")

// CheckTemplateFile checks that template.json beside the test (the stack's
// package directory) is the stack's template: the stack library's generated
// files (the default and minimal deployment templates, docs/stacks.md) are
// made from those files, so a stack that changes its template must update
// its template.json (go test -update) and regenerate them.
func CheckTemplateFile(t *testing.T, s kit.Stack) {
	t.Helper()
	want, err := json.MarshalIndent(s.Template, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile("template.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("template.json")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("template.json is not the template of %s (%v): run `go test ./stacks/aws/... ./stacks/platform -run TestTemplateFile -update`, then `go test ./stacks/aws/library -update`", s.Template.Name, err)
	}
}

// AssertValidates checks what `cloud validate-stack` checks, the way it
// does (kit.Validate: the kit's own sample config and context under the
// stack's mocks): the program runs without error, reads every declared
// input, and exports every declared output with its type and secret flag.
func AssertValidates(t testing.TB, s kit.Stack) {
	t.Helper()
	v := kit.Validate(s, nil)
	if v.Error != "" {
		t.Fatalf("validate %s: %s", s.Template.Name, v.Error)
	}
	read := map[string]bool{}
	for _, n := range v.InputsRead {
		read[n] = true
	}
	for name := range s.Template.Inputs {
		if !read[name] {
			t.Errorf("declared input %q is not read", name)
		}
	}
	for name, decl := range s.Template.Outputs {
		if got := v.Outputs[name]; got.Type != decl.Type || got.Secret != decl.Secret {
			t.Errorf("output %q = %+v, want %+v", name, got, decl)
		}
	}
}
