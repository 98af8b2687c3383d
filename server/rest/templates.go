package rest

import (
	"net/http"

	"github.com/cloudplatform/cloud/graph/model"
)

// Deployment templates: the starting points of new deployments.

func (a *api) listTemplates(w http.ResponseWriter, r *http.Request) error {
	first, after, err := queryOf(r).pageArgs()
	if err != nil {
		return err
	}
	page, err := a.docs.Templates(r.Context(), first, after)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// createTemplateBody is CreateTemplateInput.
type createTemplateBody model.CreateTemplateInput

func (b *createTemplateBody) check() error {
	if b.Name == "" {
		return inputErrorf("name", "required")
	}
	if b.FromDeployment != nil && b.FromTemplate != nil {
		return inputErrorf("fromTemplate", "give fromDeployment or fromTemplate, not both")
	}
	return nil
}

func (a *api) createTemplate(w http.ResponseWriter, r *http.Request) error {
	var in createTemplateBody
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	t, err := a.res.Mutation().CreateTemplate(r.Context(), model.CreateTemplateInput(in))
	if err != nil {
		return err
	}
	return created(w, templateURL(t.Name), t)
}

func (a *api) getTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := a.template(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (a *api) template(r *http.Request, name string) (*model.DeploymentTemplate, error) {
	t, err := a.res.Query().Template(r.Context(), name)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, notFoundf("template %q: not found", name)
	}
	return t, nil
}

// updateTemplate merges a YAML document (description, stacks) into a
// template.
func (a *api) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	doc, err := readYAML(w, r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := a.template(r, name); err != nil {
		return err
	}
	t, err := a.res.Mutation().UpdateTemplate(r.Context(), name, doc)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (a *api) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if _, err := a.template(r, name); err != nil {
		return err
	}
	if _, err := a.res.Mutation().DeleteTemplate(r.Context(), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) validateTemplate(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if _, err := a.template(r, name); err != nil {
		return err
	}
	v, err := a.res.Query().ValidateTemplate(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
