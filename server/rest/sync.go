package rest

import (
	"net/http"

	"github.com/cloudplatform/cloud/graph/model"
)

// Team sync, the team lock, and the checks and version of the server.

func (a *api) getSyncStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := a.docs.SyncStatus(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// syncRunBody is syncNow's argument; an empty body is mode sync.
type syncRunBody struct {
	Mode *model.SyncMode `json:"mode,omitempty"`
}

func (b *syncRunBody) check() error {
	if b.Mode != nil && !b.Mode.IsValid() {
		return inputErrorf("mode", "want sync, push, pull or reconcile, not %q", *b.Mode)
	}
	return nil
}

func (a *api) runSync(w http.ResponseWriter, r *http.Request) error {
	var in syncRunBody
	if err := decodeJSON(w, r, &in, false); err != nil {
		return err
	}
	mode := model.SyncModeSync
	if in.Mode != nil {
		mode = *in.Mode
	}
	run, err := a.docs.SyncNow(r.Context(), mode)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

func (a *api) listSyncConflicts(w http.ResponseWriter, r *http.Request) error {
	all, err := queryOf(r).boolean("all")
	if err != nil {
		return err
	}
	cs, err := a.docs.SyncConflicts(r.Context(), all != nil && *all)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, cs)
}

func (a *api) getSyncConflict(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, err := a.res.Query().SyncConflict(r.Context(), id)
	if err != nil {
		return err
	}
	if c == nil {
		return notFoundf("conflict %q: not found (see GET %s/sync/conflicts?all=true)", id, Prefix)
	}
	return writeJSON(w, http.StatusOK, c)
}

// resolveBody says which version of a conflict to keep.
type resolveBody struct {
	Keep model.ConflictKeep `json:"keep"`
}

func (b *resolveBody) check() error {
	if !b.Keep.IsValid() {
		return inputErrorf("keep", "want winner or loser, not %q", b.Keep)
	}
	return nil
}

func (a *api) resolveSyncConflict(w http.ResponseWriter, r *http.Request) error {
	var in resolveBody
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	c, err := a.docs.ResolveConflict(r.Context(), r.PathValue("id"), in.Keep)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (a *api) getTeamLock(w http.ResponseWriter, r *http.Request) error {
	tl, err := a.docs.TeamLock(r.Context(), r.PathValue("id"), r.PathValue("env"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tl)
}

// BrokenTeamLock is what DELETE …/team-lock answers: the lease it broke,
// absent when the lock was free.
type BrokenTeamLock struct {
	Broken bool             `json:"broken"`
	Lease  *model.TeamLease `json:"lease,omitempty"`
}

func (a *api) breakTeamLock(w http.ResponseWriter, r *http.Request) error {
	id, name := r.PathValue("id"), r.PathValue("env")
	if _, err := a.docs.Environment(r.Context(), id, name); err != nil {
		return err
	}
	l, err := a.res.Mutation().BreakTeamLock(r.Context(), id, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, BrokenTeamLock{Broken: l != nil, Lease: l})
}

func (a *api) validateDependencies(w http.ResponseWriter, r *http.Request) error {
	page, err := a.docs.Dependencies(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

func (a *api) pulumiAccess(w http.ResponseWriter, r *http.Request) error {
	id, err := queryOf(r).str("deploymentId")
	if err != nil {
		return err
	}
	p, err := a.res.Query().PulumiAccess(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (a *api) awsAccess(w http.ResponseWriter, r *http.Request) error {
	profile, err := queryOf(r).str("profile")
	if err != nil {
		return err
	}
	id, err := a.res.Query().AWSAccess(r.Context(), profile)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, id)
}

func (a *api) getVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := a.res.Query().Version(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
