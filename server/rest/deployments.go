package rest

import (
	"net/http"
	"strings"

	"github.com/cloudplatform/cloud/document"

	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/graph/model"
)

// Deployments and their manifests.

func (a *api) listDeployments(w http.ResponseWriter, r *http.Request) error {
	q := queryOf(r)
	first, after, err := q.pageArgs()
	if err != nil {
		return err
	}
	all, err := q.boolean("includeDestroyed")
	if err != nil {
		return err
	}
	c, err := a.res.Query().Deployments(r.Context(), first, after, all)
	if err != nil {
		return err
	}
	for _, d := range c.Nodes {
		if err := a.docs.FillDeployment(r.Context(), d); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, document.PageOf(c.Nodes, c.PageInfo, c.TotalCount))
}

// createDeploymentBody is InitDeploymentInput: organization and project
// are required unless a manifest is given (it names them).
type createDeploymentBody model.InitDeploymentInput

func (b *createDeploymentBody) check() error {
	if b.Manifest != nil {
		if strings.TrimSpace(*b.Manifest) == "" {
			return inputErrorf("manifest", "must not be empty")
		}
		return nil
	}
	if b.Organization == "" {
		return inputErrorf("organization", "required (or give a manifest)")
	}
	if b.Project == "" {
		return inputErrorf("project", "required (or give a manifest)")
	}
	for i, acc := range b.Accounts {
		switch {
		case acc == nil:
			return inputErrorf("accounts", "item %d must be an object", i)
		case acc.Environment == "":
			return inputErrorf("accounts.environment", "required (item %d)", i)
		case acc.AccountID == "":
			return inputErrorf("accounts.accountId", "required (item %d)", i)
		}
	}
	return nil
}

// createDeployment creates a deployment from a template (JSON
// InitDeploymentInput) or from a manifest sent as YAML.
func (a *api) createDeployment(w http.ResponseWriter, r *http.Request) error {
	mt, err := mediaType(r)
	if err != nil {
		return err
	}
	var in createDeploymentBody
	if isYAML(mt) {
		doc, err := readYAML(w, r)
		if err != nil {
			return err
		}
		in.Manifest = &doc
	} else if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	d, err := a.res.Mutation().InitDeployment(r.Context(), model.InitDeploymentInput(in))
	if err != nil {
		return err
	}
	if err := a.docs.FillDeployment(r.Context(), d); err != nil {
		return err
	}
	return created(w, deploymentURL(d.ID), d)
}

func (a *api) getDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := a.docs.Deployment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (a *api) deleteDeployment(w http.ResponseWriter, r *http.Request) error {
	force, err := queryOf(r).boolean("force")
	if err != nil {
		return err
	}
	d, err := a.res.Mutation().DeleteDeployment(r.Context(), r.PathValue("id"), force)
	if err != nil {
		return err
	}
	if d.Environments == nil { // gone with the deployment
		d.Environments = []*model.Environment{}
	}
	return writeJSON(w, http.StatusOK, d)
}

// getManifest returns a manifest revision (the one in force by default):
// as JSON with its metadata, or the YAML document itself when the client
// asks for YAML (to edit it and PUT it back).
func (a *api) getManifest(w http.ResponseWriter, r *http.Request) error {
	rev, err := queryOf(r).integer("revision")
	if err != nil {
		return err
	}
	if rev != nil && *rev < 1 {
		return inputErrorf("revision", "must be 1 or more")
	}
	m, err := a.docs.Manifest(r.Context(), r.PathValue("id"), rev)
	if err != nil {
		return err
	}
	w.Header().Add("Vary", "Accept")
	if accepts(r, "application/yaml") || accepts(r, "text/yaml") {
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write([]byte(m.Yaml))
		return nil
	}
	return writeJSON(w, http.StatusOK, m)
}

// putManifest stores a new manifest revision (unchanged content keeps the
// revision in force; changed says which).
func (a *api) putManifest(w http.ResponseWriter, r *http.Request) error {
	doc, err := readYAML(w, r)
	if err != nil {
		return err
	}
	ch, err := a.res.Mutation().ApplyManifest(r.Context(), r.PathValue("id"), doc)
	if err != nil {
		return err
	}
	if err := a.docs.FillDeployment(r.Context(), ch.Deployment); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ch)
}

func (a *api) listRevisions(w http.ResponseWriter, r *http.Request) error {
	first, after, err := queryOf(r).pageArgs()
	if err != nil {
		return err
	}
	d, err := a.docs.Deployment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := a.res.Deployment().Revisions(r.Context(), d, first, after)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, document.PageOf(c.Nodes, c.PageInfo, c.TotalCount))
}

// configBody sets one manifest value by its dotted path.
type configBody struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (b *configBody) check() error {
	if b.Key == "" {
		return inputErrorf("key", "required (a dotted manifest path, e.g. stacks.app.config.replicas)")
	}
	return nil
}

func (a *api) setConfig(w http.ResponseWriter, r *http.Request) error {
	var in configBody
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	ch, err := a.res.Mutation().SetConfig(r.Context(), r.PathValue("id"), in.Key, in.Value)
	if err != nil {
		return err
	}
	if err := a.docs.FillDeployment(r.Context(), ch.Deployment); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ch)
}

func (a *api) unsetConfig(w http.ResponseWriter, r *http.Request) error {
	ch, err := a.res.Mutation().UnsetConfig(r.Context(), r.PathValue("id"), r.PathValue("key"))
	if err != nil {
		return err
	}
	if err := a.docs.FillDeployment(r.Context(), ch.Deployment); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ch)
}

func (a *api) validateDeployment(w http.ResponseWriter, r *http.Request) error {
	envName, err := queryOf(r).str("environment")
	if err != nil {
		return err
	}
	v, err := a.docs.ValidateDeployment(r.Context(), r.PathValue("id"), envName)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *api) listOperations(w http.ResponseWriter, r *http.Request) error {
	q := queryOf(r)
	first, after, err := q.pageArgs()
	if err != nil {
		return err
	}
	envName, err := q.str("environment")
	if err != nil {
		return err
	}
	c, err := a.res.Query().Operations(r.Context(), r.PathValue("id"), envName, first, after)
	if err != nil {
		return err
	}
	for _, op := range c.Nodes {
		if err := a.docs.FillOperation(r.Context(), op); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, document.PageOf(c.Nodes, c.PageInfo, c.TotalCount))
}

func (a *api) deploymentEvents(w http.ResponseWriter, r *http.Request) error {
	q := queryOf(r)
	envName, err := q.str("environment")
	if err != nil {
		return err
	}
	args, err := eventArgsOf(q)
	if err != nil {
		return err
	}
	c, err := a.res.Query().DeploymentEvents(r.Context(), r.PathValue("id"), envName, args.afterSeq, args.stacks, args.kinds, args.first)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, document.EventPageOf(c, args.afterSeq, true))
}

// eventArgs are the filters and paging of an event list.
type eventArgs struct {
	afterSeq, first *int
	stacks, kinds   []string
}

func eventArgsOf(q query) (eventArgs, error) {
	var args eventArgs
	var err error
	if args.afterSeq, err = q.afterSeq(); err != nil {
		return args, err
	}
	if args.first, err = q.integer("first"); err != nil {
		return args, err
	}
	if args.first != nil && (*args.first < 1 || *args.first > graph.MaxPage) {
		return args, inputErrorf("first", "must be between 1 and %d", graph.MaxPage)
	}
	if args.stacks, err = q.list("stack"); err != nil {
		return args, err
	}
	args.kinds, err = q.list("kind")
	return args, err
}
