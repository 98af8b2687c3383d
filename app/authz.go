package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudplatform/cloud/engine/manifest"
)

// ErrForbidden is wrapped by the error of an action the caller's role does
// not allow (see Caller and Role).
var ErrForbidden = errors.New("forbidden")

// ForbiddenError says who may not do what, and why.
type ForbiddenError struct {
	Caller string // username (role)
	Action string // e.g. "deploy prod of D1"
	Reason string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("forbidden: %s may not %s: %s", e.Caller, e.Action, e.Reason)
}

// Unwrap makes errors.Is(err, ErrForbidden) hold.
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// access is what an action needs.
type access int

const (
	// accessOperate: run or stop an operation, or lock an environment —
	// deployers and admins, deployers not in protected environments.
	accessOperate access = iota
	// accessPreview: an operation that changes nothing (preview) —
	// deployers and admins anywhere.
	accessPreview
	// accessAdmin: change what is deployed and how (manifests, config,
	// environments, deployments, templates, the stack registry) — admins.
	accessAdmin
	// accessSecrets: read secret outputs — deployers and admins.
	accessSecrets
)

// authorize checks that the caller of ctx may do what (described for the
// error, e.g. "deploy dev of D1") needing need; env, when not nil, is the
// environment it touches (protected ones are for admins). The local user
// (no Caller) may do everything.
func authorize(ctx context.Context, need access, what string, env *manifest.Environment) error {
	c := CallerFrom(ctx)
	if c == nil || c.Role == RoleAdmin {
		return nil
	}
	who := c.Username
	if who == "" {
		who = c.Subject
	}
	deny := func(reason string) error {
		role := string(c.Role)
		if role == "" {
			role = "no role"
		}
		return &ForbiddenError{Caller: fmt.Sprintf("%s (%s)", who, role), Action: what, Reason: reason}
	}
	switch c.Role {
	case RoleDeployer:
		switch need {
		case accessPreview, accessSecrets:
			return nil
		case accessOperate:
			if env != nil && env.IsProtected() {
				return deny(fmt.Sprintf("environment %s is protected: only admins may change it", env.Name))
			}
			return nil
		}
		return deny("only admins may")
	case RoleViewer:
		if need == accessSecrets {
			return deny("viewers never see secret values")
		}
		return deny("viewers may only read")
	}
	return deny("the caller is in none of the groups admin, deployer, viewer")
}

// authorizeEnv is authorize for an action on an environment of a
// deployment, read from its manifest. An unknown deployment or
// environment is let through: the action itself then says it does not
// exist.
func (a *App) authorizeEnv(ctx context.Context, need access, verb, id, env string) error {
	if CallerFrom(ctx) == nil {
		return nil
	}
	var e *manifest.Environment
	if m, _, err := a.Manifest(ctx, id); err == nil {
		e = m.Environment(env)
	}
	return authorize(ctx, need, fmt.Sprintf("%s %s of %s", verb, env, id), e)
}

// actor is who the core records as doing what ctx asks: the caller's
// username when a door authenticated one, else Config.Actor.
func (a *App) actor(ctx context.Context) string {
	if c := CallerFrom(ctx); c != nil {
		if c.Username != "" {
			return c.Username
		}
		return c.Subject
	}
	return a.cfg.Actor
}

// callerFlags adds the caller (subject and username) to an operation's
// flags, so the record says who asked even when usernames change.
func callerFlags(ctx context.Context, flags map[string]any) map[string]any {
	c := CallerFrom(ctx)
	if c == nil {
		return flags
	}
	out := make(map[string]any, len(flags)+1)
	for k, v := range flags {
		out[k] = v
	}
	out["caller"] = map[string]any{"subject": c.Subject, "username": c.Username, "role": string(c.Role)}
	return out
}

// RequireAdmin returns nil when the caller of ctx may administer (the
// local user, or an admin), and a *ForbiddenError naming what otherwise;
// for doors whose actions have no other check in the core.
func RequireAdmin(ctx context.Context, what string) error {
	return authorize(ctx, accessAdmin, what, nil)
}
