// Package library turns the templates of the AWS stack library (the
// template.json each stack keeps beside its code) into what ships with
// cloud: the `default` and `minimal` deployment templates and
// docs/stacks.md. Generating them keeps the three in step with the stacks;
// the package's test fails when a committed copy is stale.
package library

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"go.yaml.in/yaml/v3"
)

// Stacks are the sixteen stacks of the library, in the order of STACKS.md.
var Stacks = []string{
	"network", "security", "dns", "secrets", "authentication", "storage", "database-rds",
	"containers-images", "containers-apps", "services-ecr", "services-ecs", "services-eks",
	"services-api", "compute-ec2", "compute-lambda", "monitoring",
}

// Minimal is the `minimal` template's stacks: what a small team starts with.
var Minimal = []string{"network", "security", "storage", "database-rds"}

// Platform is the stack of what cloud itself needs in AWS; it is in no
// deployment template.
const Platform = "platform"

// Dir is where a stack's code and template.json live, relative to the
// repository root.
func Dir(name string) string {
	if name == Platform {
		return filepath.Join("stacks", "platform")
	}
	return filepath.Join("stacks", "aws", name)
}

// Load reads the templates of the library's stacks and of platform from the
// repository at root, by name.
func Load(root string) (map[string]protocol.Template, error) {
	out := map[string]protocol.Template{}
	for _, name := range append(slices.Clone(Stacks), Platform) {
		file := filepath.Join(root, Dir(name), "template.json")
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		var t protocol.Template
		if err := json.Unmarshal(data, &t); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if t.Name != name {
			return nil, fmt.Errorf("%s: the template is named %q, want %q", file, t.Name, name)
		}
		out[name] = t
	}
	return out, nil
}

// Wiring is how a template feeds one stack: each input with no default is
// fed by the output of the same name of the first dependency that declares
// it, as a placeholder; one no dependency declares takes its example.
type Wiring struct {
	Stack  string
	Config map[string]any
	// From names, for each placeholder input, the stack it reads.
	From map[string]string
}

// Wire computes the config of stack name in a deployment made of in (the
// stacks present), reporting inputs that nothing can feed.
func Wire(all map[string]protocol.Template, name string, in []string) (Wiring, error) {
	t := all[name]
	w := Wiring{Stack: name, Config: map[string]any{}, From: map[string]string{}}
	for _, input := range sortedKeys(t.Inputs) {
		decl := t.Inputs[input]
		from := ""
		for _, dep := range dependencies(t, in) {
			if out, ok := all[dep].Outputs[input]; ok && out.Type == decl.Type {
				from = dep
				break
			}
		}
		switch {
		case from != "":
			w.Config[input] = "${" + from + "." + input + "}"
			w.From[input] = from
		case decl.Default != nil:
			w.Config[input] = decl.Default
		case decl.Example != nil:
			w.Config[input] = decl.Example
		case !decl.Required:
			// Optional with no default: left out, the stack decides.
		default:
			return w, fmt.Errorf("stack %s: required input %q has no default, no example, and no dependency exports it", name, input)
		}
	}
	return w, nil
}

// dependencies are t's declared dependencies that are part of the
// deployment.
func dependencies(t protocol.Template, in []string) []string {
	var deps []string
	for _, d := range t.Dependencies {
		if slices.Contains(in, d) {
			deps = append(deps, d)
		}
	}
	return deps
}

// DeploymentTemplate renders the deployment template of the given stacks:
// description, then each stack with its enabled flag (enabled lists the
// enabled ones), its dependencies within the template and its wired config.
func DeploymentTemplate(all map[string]protocol.Template, description string, stacks, enabled []string) ([]byte, error) {
	root := mapping()
	add(root, "description", scalar(description))
	body := mapping()
	for _, name := range stacks {
		w, err := Wire(all, name, stacks)
		if err != nil {
			return nil, err
		}
		body.Content = append(body.Content, scalar(name), stackNode(all[name], w, stacks, slices.Contains(enabled, name)))
	}
	add(root, "stacks", body)
	var buf bytes.Buffer
	buf.WriteString("# Generated from the stack library's templates by stacks/aws/library\n")
	buf.WriteString("# (go test ./stacks/aws/library -update); do not edit.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func stackNode(t protocol.Template, w Wiring, in []string, enabled bool) *yaml.Node {
	n := mapping()
	add(n, "enabled", scalar(enabled))
	if deps := dependencies(t, in); len(deps) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, d := range deps {
			seq.Content = append(seq.Content, scalar(d))
		}
		add(n, "dependencies", seq)
	}
	if len(w.Config) > 0 {
		cfg := mapping()
		for _, k := range sortedKeys(w.Config) {
			var v yaml.Node
			_ = v.Encode(w.Config[k])
			if v.Kind == yaml.SequenceNode && len(v.Content) <= 4 {
				v.Style = yaml.FlowStyle
			}
			add(cfg, k, &v)
		}
		add(n, "config", cfg)
	}
	return n
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func scalar(v any) *yaml.Node {
	var n yaml.Node
	_ = n.Encode(v)
	return &n
}

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, scalar(key), v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Docs renders docs/stacks.md: one section per stack with what it creates,
// its dependencies, its inputs and outputs, and the excerpt of a manifest
// that wires it (from the default template, enabled).
func Docs(all map[string]protocol.Template) ([]byte, error) {
	var b strings.Builder
	b.WriteString(`# The AWS stack library

<!-- Generated by stacks/aws/library from each stack's template.json
(go test ./stacks/aws/library -update); do not edit by hand. -->

Sixteen stacks a platform team composes into deployments, and ` + "`platform`" + `,
the AWS resources ` + "`cloud`" + ` itself needs. Each is a Go program under
` + "`stacks/aws/<name>`" + ` (` + "`stacks/platform`" + `) built with ` + "`stacks/kit`" + ` and
` + "`github.com/pulumi/pulumi-aws/sdk/v6`" + `, as its own binary:

` + "```sh" + `
make stack STACK=network     # bin/stacks/network
make stacks                  # every stack, the examples included
make register-stacks         # build and register the whole library
cloud init --template default --org acme --project shop --domain shop.example.com
` + "```" + `

Every stack also gets the standard context from ` + "`cloud`" + ` (deployment ID,
organization, project, environment, region, its own name), never declared
as inputs. Resources are named ` + "`<deploymentId>-<stack>-<environment>-<purpose>`" + `
(shortened with a hash where AWS limits names) and tagged ` + "`deployment`" + `,
` + "`stack`" + `, ` + "`environment`" + `, ` + "`organization`" + `, ` + "`project`" + ` and ` + "`managed-by: cloud`" + `.
Cross-stack values come only through inputs fed by placeholders: an input
is named like the output that feeds it (` + "`security.vpcId: ${network.vpcId}`" + `).

Two deployment templates ship with ` + "`cloud`" + `: ` + "`default`" + ` lists the sixteen
stacks with their defaults and wiring, all disabled except ` + "`network`" + `; ` + "`minimal`" + `
(` + strings.Join(Minimal, ", ") + `) is enabled whole. Enable stacks with
` + "`cloud config set ID stacks.NAME.enabled true`" + ` or ` + "`cloud enable-environment ID ENV --stacks a,b`" + `.

| stack | depends on | outputs other stacks use |
| --- | --- | --- |
`)
	names := append(slices.Clone(Stacks), Platform)
	for _, name := range names {
		t := all[name]
		deps := "—"
		if len(t.Dependencies) > 0 {
			deps = strings.Join(t.Dependencies, ", ")
		}
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s |\n", name, name, deps, strings.Join(sortedKeys(t.Outputs), ", "))
	}
	for _, name := range names {
		t := all[name]
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", name, strings.TrimSpace(t.Description))
		if len(t.Dependencies) > 0 {
			fmt.Fprintf(&b, "Depends on: %s.\n\n", strings.Join(t.Dependencies, ", "))
		} else {
			b.WriteString("Depends on no other stack.\n\n")
		}
		b.WriteString("### Inputs\n\n| input | type | default | description |\n| --- | --- | --- | --- |\n")
		for _, in := range sortedKeys(t.Inputs) {
			d := t.Inputs[in]
			def := "—"
			switch {
			case d.Default != nil:
				def = "`" + jsonText(d.Default) + "`"
			case d.Required:
				def = "required"
			}
			typ := d.Type
			if d.Secret {
				typ += ", secret"
			}
			desc := d.Description
			if d.Example != nil && d.Default == nil {
				desc += " (e.g. `" + jsonText(d.Example) + "`)"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", in, typ, def, cell(desc))
		}
		b.WriteString("\n### Outputs\n\n| output | type | description |\n| --- | --- | --- |\n")
		for _, out := range sortedKeys(t.Outputs) {
			d := t.Outputs[out]
			typ := d.Type
			if d.Secret {
				typ += ", secret"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", out, typ, cell(d.Description))
		}
		if name == Platform {
			b.WriteString("\n`platform` is deployed once per AWS account, on its own; its outputs are what `cloud sync configure` and the server's Cognito settings take.\n")
			continue
		}
		excerpt, err := DeploymentTemplate(all, "", Stacks, Stacks)
		if err != nil {
			return nil, err
		}
		block, err := stackBlock(excerpt, name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\n### In a manifest\n\n```yaml\nstacks:\n%s```\n", block)
	}
	return []byte(b.String()), nil
}

// stackBlock cuts one stack's entry out of a rendered template.
func stackBlock(tmpl []byte, name string) (string, error) {
	lines := strings.SplitAfter(string(tmpl), "\n")
	var out strings.Builder
	in := false
	for _, l := range lines {
		switch {
		case l == "  "+name+":\n":
			in = true
		case in && strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "    "):
			in = false
		}
		if in {
			out.WriteString(l)
		}
	}
	if out.Len() == 0 {
		return "", fmt.Errorf("no stack %s in the rendered template", name)
	}
	return out.String(), nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
