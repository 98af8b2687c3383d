package app

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/plan"
	"github.com/cloudplatform/cloud/store"
	"go.yaml.in/yaml/v3"
)

//go:embed templates/*.yaml
var builtinTemplates embed.FS

// installTemplates stores the built-in deployment templates, rewriting one
// only when the binary ships a different body (so opening the app does not
// write on every command).
func (a *App) installTemplates(ctx context.Context) error {
	entries, err := builtinTemplates.ReadDir("templates")
	if err != nil {
		return err
	}
	for _, e := range entries {
		body, err := builtinTemplates.ReadFile(path.Join("templates", e.Name()))
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(e.Name(), ".yaml")
		cur, err := a.db.DeploymentTemplate(ctx, name)
		if err == nil && cur.Body == string(body) {
			continue
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var t struct {
			Description string `yaml:"description"`
		}
		if err := yaml.Unmarshal(body, &t); err != nil {
			return fmt.Errorf("built-in template %s: %w", name, err)
		}
		if err := a.db.PutDeploymentTemplate(ctx, store.DeploymentTemplate{
			Name: name, Description: t.Description, Body: string(body), Builtin: true,
		}); err != nil {
			return err
		}
	}
	return nil
}

// TemplateInfo is one line of `cloud list-templates`.
type TemplateInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Builtin     bool     `json:"builtin"`
	Stacks      []string `json:"stacks"`
}

// Templates lists the deployment templates.
func (a *App) Templates(ctx context.Context) ([]TemplateInfo, error) {
	ts, err := a.db.DeploymentTemplates(ctx)
	if err != nil {
		return nil, err
	}
	var out []TemplateInfo
	for _, t := range ts {
		info := TemplateInfo{Name: t.Name, Description: t.Description, Builtin: t.Builtin}
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(t.Body), &doc); err == nil {
			if stacks := mappingValue(&doc, "stacks"); stacks != nil {
				for i := 0; i+1 < len(stacks.Content); i += 2 {
					info.Stacks = append(info.Stacks, stacks.Content[i].Value)
				}
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// Template returns one deployment template.
func (a *App) Template(ctx context.Context, name string) (*store.DeploymentTemplate, error) {
	t, err := a.db.DeploymentTemplate(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		names, _ := a.templateNames(ctx)
		return nil, fmt.Errorf("template %q: %w (have: %s)", name, ErrNotFound, strings.Join(names, ", "))
	}
	return t, err
}

// CreateTemplateRequest makes a template from a deployment's current
// manifest or from another template.
type CreateTemplateRequest struct {
	Name           string
	Description    string
	FromDeployment string
	FromTemplate   string
}

var templateName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// CreateTemplate stores a new template: the stacks (enabled flags,
// dependencies, config, per-environment overrides) of a deployment or of
// another template. It refuses a name that exists.
func (a *App) CreateTemplate(ctx context.Context, req CreateTemplateRequest) (*store.DeploymentTemplate, error) {
	if err := authorize(ctx, accessAdmin, "create templates", nil); err != nil {
		return nil, err
	}
	if !templateName.MatchString(req.Name) {
		return nil, usagef("template name %q: use lower-case letters, digits and '-'", req.Name)
	}
	if (req.FromDeployment == "") == (req.FromTemplate == "") {
		return nil, usagef("create-template needs exactly one of --from-deployment and --from-template")
	}
	if _, err := a.db.DeploymentTemplate(ctx, req.Name); err == nil {
		return nil, usagef("template %q exists; change it with update-template", req.Name)
	}
	var source, desc string
	if req.FromTemplate != "" {
		t, err := a.Template(ctx, req.FromTemplate)
		if err != nil {
			return nil, err
		}
		source, desc = t.Body, t.Description
	} else {
		_, r, err := a.Manifest(ctx, req.FromDeployment)
		if err != nil {
			return nil, err
		}
		source, desc = r.YAML, "from deployment "+req.FromDeployment
	}
	if req.Description != "" {
		desc = req.Description
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(source), &doc); err != nil {
		return nil, err
	}
	stacks := mappingValue(&doc, "stacks")
	if stacks == nil {
		return nil, fmt.Errorf("%s has no stacks", req.FromDeployment+req.FromTemplate)
	}
	body, err := templateBody(desc, stacks)
	if err != nil {
		return nil, err
	}
	t := store.DeploymentTemplate{Name: req.Name, Description: desc, Body: body}
	if err := a.checkTemplateBody(ctx, t); err != nil {
		return nil, err
	}
	if err := a.db.PutDeploymentTemplate(ctx, t); err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateTemplate merges a YAML file into a template: its description
// replaces the template's, and its stacks merge over the template's (maps
// merge key by key, other values replace). Built-in templates are
// read-only: copy one with create-template first.
func (a *App) UpdateTemplate(ctx context.Context, name, file string, data []byte) (*store.DeploymentTemplate, error) {
	if err := authorize(ctx, accessAdmin, "update template "+name, nil); err != nil {
		return nil, err
	}
	t, err := a.Template(ctx, name)
	if err != nil {
		return nil, err
	}
	if t.Builtin {
		return nil, usagef("template %s is built in; copy it first: cloud create-template my-%s --from-template %s", name, name, name)
	}
	var cur, patch yaml.Node
	if err := yaml.Unmarshal([]byte(t.Body), &cur); err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(data, &patch); err != nil {
		return nil, usagef("%s: %v", file, err)
	}
	if len(patch.Content) == 0 || patch.Content[0].Kind != yaml.MappingNode {
		return nil, usagef("%s: want a mapping with description and/or stacks", file)
	}
	for i := 0; i+1 < len(patch.Content[0].Content); i += 2 {
		switch k := patch.Content[0].Content[i].Value; k {
		case "description", "stacks":
		default:
			return nil, usagef("%s:%d: unknown field %q of a template (want description, stacks)", file, patch.Content[0].Content[i].Line, k)
		}
	}
	merge(cur.Content[0], patch.Content[0])
	desc := t.Description
	if d := mappingValue(&cur, "description"); d != nil {
		desc = d.Value
	}
	body, err := templateBody(desc, mappingValue(&cur, "stacks"))
	if err != nil {
		return nil, err
	}
	nt := store.DeploymentTemplate{Name: name, Description: desc, Body: body}
	if err := a.checkTemplateBody(ctx, nt); err != nil {
		return nil, err
	}
	if err := a.db.PutDeploymentTemplate(ctx, nt); err != nil {
		return nil, err
	}
	return &nt, nil
}

// merge deep-merges the mapping src into dst.
func merge(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		key, val := src.Content[i], src.Content[i+1]
		found := false
		for j := 0; j+1 < len(dst.Content); j += 2 {
			if dst.Content[j].Value != key.Value {
				continue
			}
			found = true
			if val.Kind == yaml.MappingNode && dst.Content[j+1].Kind == yaml.MappingNode {
				merge(dst.Content[j+1], val)
			} else {
				dst.Content[j+1] = val
			}
		}
		if !found {
			dst.Content = append(dst.Content, key, val)
		}
	}
}

func templateBody(desc string, stacks *yaml.Node) (string, error) {
	doc := &yaml.Node{Kind: yaml.MappingNode}
	doc.Content = append(doc.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: "description"}, &yaml.Node{Kind: yaml.ScalarNode, Value: desc},
		&yaml.Node{Kind: yaml.ScalarNode, Value: "stacks"}, stacks)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// templateManifest is the manifest a template gives a deployment with a
// placeholder identity and the default environments: what validation and
// init both start from.
func (a *App) templateManifest(ctx context.Context, t store.DeploymentTemplate) (*manifest.Manifest, error) {
	data, err := a.manifestFromBody(InitRequest{ID: "DTEMPL8", Organization: "template", Project: t.Name,
		Domain: "example.com", Template: t.Name, Accounts: map[string]string{}}, t.Body)
	if err != nil {
		return nil, err
	}
	return manifest.Parse("template "+t.Name, data)
}

// checkTemplateBody refuses a template whose stacks do not make a valid
// manifest (unknown fields, unknown dependencies, cycles, dependencies on
// disabled stacks).
func (a *App) checkTemplateBody(ctx context.Context, t store.DeploymentTemplate) error {
	m, err := a.templateManifest(ctx, t)
	if err != nil {
		return err
	}
	_, err = plan.Build(m, m.Environments[0].Name)
	return err
}

// ValidateTemplate checks a template as `validate deployment` checks a
// deployment: its graph, and every enabled stack's config against its
// program's template (unknown programs, config keys the program does not
// declare, type mismatches, placeholders naming undeclared outputs).
func (a *App) ValidateTemplate(ctx context.Context, name string) (*Validation, error) {
	if err := authorize(ctx, accessPreview, "validate template "+name+" (it runs stack programs)", nil); err != nil {
		return nil, err
	}
	t, err := a.Template(ctx, name)
	if err != nil {
		return nil, err
	}
	v := &Validation{DeploymentID: "template " + name}
	m, err := a.templateManifest(ctx, *t)
	if err != nil {
		v.Findings = append(v.Findings, Finding{Severity: SeverityError, Message: err.Error()})
		return v, nil
	}
	env := m.Environments[0].Name
	v.Environments = []string{env}
	p, err := plan.Build(m, env)
	if err != nil {
		v.Findings = append(v.Findings, Finding{Severity: SeverityError, Message: err.Error()})
		return v, nil
	}
	for _, f := range checkPlan(p, a.templateLookup(ctx)) {
		f.Environment = ""
		v.Findings = append(v.Findings, f)
	}
	return v, nil
}

// DeleteTemplate deletes a deployment template; built-in templates stay
// (ErrConflict).
func (a *App) DeleteTemplate(ctx context.Context, name string) error {
	if err := authorize(ctx, accessAdmin, "delete template "+name, nil); err != nil {
		return err
	}
	t, err := a.Template(ctx, name)
	if err != nil {
		return err
	}
	if t.Builtin {
		return fmt.Errorf("%w: template %s is built in and cannot be deleted", ErrConflict, name)
	}
	return a.db.DeleteDeploymentTemplate(ctx, name)
}
