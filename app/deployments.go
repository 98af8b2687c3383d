package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/plan"
	"github.com/cloudplatform/cloud/store"
	"go.yaml.in/yaml/v3"
)

// InitRequest creates a deployment from a template or a manifest file.
type InitRequest struct {
	ID           string // generated when empty
	Organization string
	Project      string
	Domain       string
	Template     string // default "demo"
	Region       string // default us-east-1, for every default environment
	// Accounts maps environment name to AWS account ID.
	Accounts map[string]string
	// File and Data: a manifest to create the deployment from instead of a
	// template.
	File string
	Data []byte
}

// Init creates a deployment and stores its first manifest revision.
func (a *App) Init(ctx context.Context, req InitRequest) (*store.Deployment, error) {
	if err := authorize(ctx, accessAdmin, "create deployments", nil); err != nil {
		return nil, err
	}
	data, file := req.Data, req.File
	if data == nil {
		var err error
		if data, err = a.manifestFromTemplate(ctx, req); err != nil {
			return nil, err
		}
		file = "template " + req.Template
	}
	if err := a.checkManifestSize(file, data); err != nil {
		return nil, err
	}
	m, err := manifest.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if _, err := a.db.Deployment(ctx, m.DeploymentID); err == nil {
		return nil, usagef("deployment %s already exists (use `cloud config %s --from-file` to change it)",
			m.DeploymentID, m.DeploymentID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if _, _, err := a.save(ctx, m, data); err != nil {
		return nil, err
	}
	return a.db.Deployment(ctx, m.DeploymentID)
}

// manifestFromTemplate writes the first manifest of a deployment: the
// request's identity and environments, and the template's stacks.
func (a *App) manifestFromTemplate(ctx context.Context, req InitRequest) ([]byte, error) {
	if req.Template == "" {
		req.Template = "demo"
	}
	if req.Organization == "" || req.Project == "" {
		return nil, usagef("--org and --project are required")
	}
	t, err := a.db.DeploymentTemplate(ctx, req.Template)
	if errors.Is(err, store.ErrNotFound) {
		names, _ := a.templateNames(ctx)
		return nil, usagef("unknown template %q (have: %s)", req.Template, strings.Join(names, ", "))
	}
	if err != nil {
		return nil, err
	}
	return a.manifestFromBody(req, t.Body)
}

// manifestFromBody writes a manifest from a template body and the
// request's identity and environments.
func (a *App) manifestFromBody(req InitRequest, body string) ([]byte, error) {
	id := req.ID
	if id == "" {
		id = manifest.NewDeploymentID(a.cfg.Now(), rand.Reader)
	}
	region := req.Region
	if region == "" {
		region = "us-east-1"
	}
	var tdoc yaml.Node
	if err := yaml.Unmarshal([]byte(body), &tdoc); err != nil {
		return nil, fmt.Errorf("template %s: %w", req.Template, err)
	}
	stacks := mappingValue(&tdoc, "stacks")
	if stacks == nil {
		return nil, fmt.Errorf("template %s has no stacks", req.Template)
	}
	doc := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) {
		doc.Content = append(doc.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s, Tag: "!!str"} }
	add("version", str("1"))
	add("deployment_id", str(id))
	add("organization", str(req.Organization))
	add("project", str(req.Project))
	if req.Domain != "" {
		add("domain", str(req.Domain))
	}
	add("template", str(req.Template))
	add("created_at", str(a.cfg.Now().UTC().Format(time.RFC3339)))
	envs := &yaml.Node{Kind: yaml.MappingNode}
	for _, name := range []string{"dev", "stage", "prod"} {
		e := &yaml.Node{Kind: yaml.MappingNode}
		e.Content = append(e.Content,
			str("enabled"), &yaml.Node{Kind: yaml.ScalarNode, Value: "true", Tag: "!!bool"},
			str("region"), str(region))
		if acct := req.Accounts[name]; acct != "" {
			e.Content = append(e.Content, str("account_id"), str(acct))
		}
		envs.Content = append(envs.Content, str(name), e)
	}
	add("environments", envs)
	add("stacks", stacks)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func mappingValue(doc *yaml.Node, key string) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (a *App) templateNames(ctx context.Context) ([]string, error) {
	ts, err := a.db.DeploymentTemplates(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range ts {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names, nil
}

// ApplyManifest validates a manifest and stores it as the deployment's new
// revision. The deployment ID in the file must match id. Nothing is stored
// when anything is wrong.
func (a *App) ApplyManifest(ctx context.Context, id, file string, data []byte) (rev int, changed bool, err error) {
	if err := authorize(ctx, accessAdmin, "change the manifest of "+id, nil); err != nil {
		return 0, false, err
	}
	if err := a.checkManifestSize(file, data); err != nil {
		return 0, false, err
	}
	m, err := manifest.Parse(file, data)
	if err != nil {
		return 0, false, err
	}
	if m.DeploymentID != id {
		return 0, false, fmt.Errorf("%s: deployment_id is %s, but the deployment is %s", file, m.DeploymentID, id)
	}
	if _, err := a.db.Deployment(ctx, id); err != nil {
		return 0, false, a.notFound(err, id)
	}
	return a.save(ctx, m, data)
}

// checkManifestSize refuses a manifest over the size limit before it is
// parsed: every revision is stored whole, and parsing a huge file costs
// memory too. It is the one check for init, config --from-file, config
// set, deploy -f, REST and GraphQL: they all come through Init or
// ApplyManifest. The error is a *manifest.Error wrapping
// ErrManifestTooLarge.
func (a *App) checkManifestSize(file string, data []byte) error {
	limit := a.cfg.MaxManifestBytes
	if int64(len(data)) <= limit {
		return nil
	}
	return &manifest.Error{File: file, Err: ErrManifestTooLarge,
		Msg: fmt.Sprintf("the manifest is %s (%d bytes), over the limit of %s (%d bytes)",
			byteSize(int64(len(data))), len(data), byteSize(limit), limit),
		Hint: fmt.Sprintf("raise it with %s, e.g. %s=%dMiB", MaxManifestBytesEnv, MaxManifestBytesEnv, (int64(len(data))+1<<20-1)>>20)}
}

// byteSize formats n bytes for people: 512 B, 1.5 KiB, 20 MiB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return trimZero(float64(n)/(1<<10)) + " KiB"
	case n < 1<<30:
		return trimZero(float64(n)/(1<<20)) + " MiB"
	}
	return trimZero(float64(n)/(1<<30)) + " GiB"
}

func trimZero(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", f), "0"), ".")
}

// save checks every environment's plan (so a cycle or a dependency on a
// disabled stack is refused now, not at deploy time) and stores the
// manifest. changed is false when the manifest equals the current revision.
func (a *App) save(ctx context.Context, m *manifest.Manifest, data []byte) (int, bool, error) {
	for _, e := range m.Environments {
		if _, err := plan.Build(m, e.Name); err != nil {
			return 0, false, err
		}
	}
	d := store.Deployment{
		ID: m.DeploymentID, Organization: m.Organization, Project: m.Project, Domain: m.Domain,
		Template: m.Template, PulumiOrg: m.PulumiOrg, Backend: m.Backend,
	}
	var envs []store.Environment
	for _, e := range m.Environments {
		envs = append(envs, store.Environment{DeploymentID: m.DeploymentID, Name: e.Name,
			Enabled: e.Enabled, Region: e.Region, AccountID: e.AccountID})
	}
	var stacks []store.DeploymentStack
	for _, s := range m.Stacks {
		stacks = append(stacks, store.DeploymentStack{DeploymentID: m.DeploymentID, Name: s.Name,
			Program: s.Program, Enabled: s.Enabled, Dependencies: s.Dependencies, Config: s.Config, Layer: s.DeclaredLayer()})
	}
	prev := 0
	if cur, err := a.db.Deployment(ctx, d.ID); err == nil {
		prev = cur.CurrentRevision
	}
	rev, _, err := a.db.SaveManifest(ctx, d, string(data), a.actor(ctx), envs, stacks)
	if err != nil {
		return 0, false, err
	}
	return rev, rev != prev, nil
}

// Manifest returns a deployment's current manifest and its revision.
func (a *App) Manifest(ctx context.Context, id string) (*manifest.Manifest, *store.ManifestRevision, error) {
	return a.manifestAt(ctx, id, 0)
}

func (a *App) manifestAt(ctx context.Context, id string, rev int) (*manifest.Manifest, *store.ManifestRevision, error) {
	r, err := a.db.Revision(ctx, id, rev)
	if err != nil {
		return nil, nil, a.notFound(err, id)
	}
	m, err := manifest.Parse(fmt.Sprintf("%s revision %d", id, r.Revision), []byte(r.YAML))
	if err != nil {
		return nil, nil, fmt.Errorf("stored manifest is invalid (was it written by a newer cloud?): %w", err)
	}
	return m, r, nil
}

// SetConfig changes one value of a deployment's manifest and stores the
// result as a new revision. key is a dotted path: a top-level field
// (domain), environments.ENV.{enabled,region,account_id},
// stacks.STACK.{enabled,program,layer,dependencies}, stacks.STACK.config.KEY
// or stacks.STACK.environments.ENV.config.KEY. value is read as YAML, so
// 3 is a number, true a boolean and [a, b] a list.
func (a *App) SetConfig(ctx context.Context, id, key, value string) (int, error) {
	if err := authorize(ctx, accessAdmin, "change the configuration of "+id, nil); err != nil {
		return 0, err
	}
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		return 0, usagef("value %q: %v", value, err)
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	if len(v.Content) > 0 {
		val = v.Content[0]
	}
	parts := strings.Split(key, ".")
	for _, p := range parts {
		if p == "" {
			return 0, usagef("bad key %q", key)
		}
	}
	m, _, err := a.Manifest(ctx, id)
	if err != nil {
		return 0, err
	}
	if err := a.checkConfigKey(ctx, m, parts, val); err != nil {
		return 0, err
	}
	return a.editManifest(ctx, id, "config set "+key, func(root *yaml.Node) { setPath(root, parts, val) })
}

// editManifest changes the current manifest as YAML (keeping its order and
// comments) and stores the result as a new revision, after validation.
func (a *App) editManifest(ctx context.Context, id, source string, edit func(root *yaml.Node)) (int, error) {
	_, r, err := a.Manifest(ctx, id)
	if err != nil {
		return 0, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(r.YAML), &doc); err != nil {
		return 0, err
	}
	edit(doc.Content[0])
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return 0, err
	}
	rev, _, err := a.ApplyManifest(ctx, id, source, buf.Bytes())
	return rev, err
}

// setPath sets a value in a YAML mapping, creating intermediate mappings,
// and keeping the rest of the document (order, comments) as it was.
func setPath(n *yaml.Node, path []string, val *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			n.Content[i+1] = val
			return
		}
		child := n.Content[i+1]
		if child.Kind != yaml.MappingNode {
			child = &yaml.Node{Kind: yaml.MappingNode}
			n.Content[i+1] = child
		}
		setPath(child, path[1:], val)
		return
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Value: path[0]}
	if len(path) == 1 {
		n.Content = append(n.Content, key, val)
		return
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	n.Content = append(n.Content, key, child)
	setPath(child, path[1:], val)
}

// ReadManifestFile reads a manifest file for Init or ApplyManifest.
func ReadManifestFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return b, nil
}

// notFound turns the store's not-found of deployment id into ErrNotFound,
// or into a usage error stating the format when id is not one of a
// deployment at all.
func (a *App) notFound(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		if err := CheckDeploymentID(id); err != nil {
			return err
		}
		return fmt.Errorf("deployment %s: %w", id, ErrNotFound)
	}
	return err
}

// DeleteDeployment deletes a deployment: its environments, stacks, states
// and outputs go; its manifest revisions, operations and events stay as
// history. It is refused (ErrConflict) while any stack of any environment
// is deployed or may hold resources, unless force: the resources would be
// orphaned, so destroy first.
func (a *App) DeleteDeployment(ctx context.Context, id string, force bool) (*store.Deployment, error) {
	if err := authorize(ctx, accessAdmin, "delete deployment "+id, nil); err != nil {
		return nil, err
	}
	d, err := a.db.Deployment(ctx, id)
	if err != nil {
		return nil, a.notFound(err, id)
	}
	if !force {
		states, err := a.db.StackStates(ctx, id, "")
		if err != nil {
			return nil, err
		}
		var held []string
		for _, s := range states {
			if deployed(s) {
				held = append(held, s.Environment+"/"+s.Stack)
			}
		}
		if len(held) > 0 {
			sort.Strings(held)
			return nil, fmt.Errorf("%w: deployment %s still has deployed stacks (%s); destroy them first (`cloud destroy %s -e ENV`) or force the delete",
				ErrConflict, id, strings.Join(held, ", "), id)
		}
	}
	if err := a.db.DeleteDeployment(ctx, id); err != nil {
		return nil, a.notFound(err, id)
	}
	d.Deleted = true
	return d, nil
}
