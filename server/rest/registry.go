package rest

import (
	"net/http"

	"github.com/cloudplatform/cloud/graph/model"
)

// The stack registry: stack programs and the templates they declare.

func (a *api) listStacks(w http.ResponseWriter, r *http.Request) error {
	first, after, err := queryOf(r).pageArgs()
	if err != nil {
		return err
	}
	page, err := a.docs.Stacks(r.Context(), first, after)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// registerBody names the program to register: a name looked up in the
// stacks directories and the built-in programs, or a path.
type registerBody struct {
	NameOrPath string `json:"nameOrPath"`
	// Name registers the stack under another name than the program's.
	Name         string   `json:"name,omitempty"`
	Dependencies []string `json:"dependencies,omitempty"`
}

func (b *registerBody) check() error {
	if b.NameOrPath == "" {
		return inputErrorf("nameOrPath", "required (a stack program's name or path, or a Pulumi project directory)")
	}
	return nil
}

// registerStack registers or re-registers a stack program: 200 with what
// is registered now (re-registering an unchanged program changes nothing,
// so this is not a creation every time).
func (a *api) registerStack(w http.ResponseWriter, r *http.Request) error {
	var in registerBody
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	var name *string
	if in.Name != "" {
		name = &in.Name
	}
	s, err := a.res.Mutation().RegisterStack(r.Context(), in.NameOrPath, name, in.Dependencies)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Location", stackURL(s.Name))
	return writeJSON(w, http.StatusOK, s)
}

func (a *api) getStack(w http.ResponseWriter, r *http.Request) error {
	s, err := a.stack(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s)
}

func (a *api) stack(r *http.Request, name string) (*model.StackTemplate, error) {
	return a.docs.Stack(r.Context(), name)
}

// updateStackBody changes what the registry adds to a stack's template;
// absent fields stay as they are ("dependencies": [] means none).
type updateStackBody struct {
	Description  *string   `json:"description,omitempty"`
	Dependencies *[]string `json:"dependencies,omitempty"`
	Priority     *int      `json:"priority,omitempty"`
}

func (b *updateStackBody) check() error {
	if b.Description == nil && b.Dependencies == nil && b.Priority == nil {
		return inputErrorf("body", "nothing to change: give description, dependencies or priority")
	}
	return nil
}

func (a *api) updateStack(w http.ResponseWriter, r *http.Request) error {
	var in updateStackBody
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := a.stack(r, name); err != nil {
		return err
	}
	var deps []string
	if in.Dependencies != nil {
		deps = append([]string{}, *in.Dependencies...) // non-nil: replace, even with none
	}
	s, err := a.res.Mutation().UpdateStack(r.Context(), name, in.Description, deps, in.Priority)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s)
}

func (a *api) unregisterStack(w http.ResponseWriter, r *http.Request) error {
	force, err := queryOf(r).boolean("force")
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := a.stack(r, name); err != nil {
		return err
	}
	if _, err := a.res.Mutation().UnregisterStack(r.Context(), name, force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) validateStack(w http.ResponseWriter, r *http.Request) error {
	strict, err := queryOf(r).boolean("strict")
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, err := a.stack(r, name); err != nil {
		return err
	}
	v, err := a.res.Query().ValidateStack(r.Context(), name, strict)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
