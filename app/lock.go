package app

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/stacks/project"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// LockStatus returns the operation holding a deployment's environment, or
// nil when it is free. Operations whose process died are released first.
func (a *App) LockStatus(ctx context.Context, id, env string) (*store.Operation, error) {
	if _, _, err := a.Manifest(ctx, id); err != nil {
		return nil, err
	}
	if _, err := a.db.ReapInterrupted(ctx); err != nil {
		return nil, err
	}
	return a.db.ActiveOperation(ctx, id, env)
}

// Lock takes a manual lock on a deployment's environment: deploys,
// destroys and other operations there are refused, naming it, until
// Unlock. It fails with a *store.BusyError when the environment is held.
func (a *App) Lock(ctx context.Context, id, env, reason string) (*store.Operation, error) {
	if err := a.authorizeEnv(ctx, accessOperate, "lock", id, env); err != nil {
		return nil, err
	}
	m, _, err := a.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Environment(env) == nil {
		return nil, noEnvironment(m, env)
	}
	_, _, host := store.ProcessIdentity()
	op := &store.Operation{DeploymentID: id, Environment: env, Kind: vocab.KindLock, Command: "lock",
		Flags: callerFlags(ctx, map[string]any{"reason": reason}), Actor: a.actor(ctx), Host: host,
		// No owner process: the reaper leaves a lock with no pid alone.
		PID: -1}
	if err := a.db.BeginOperation(ctx, op); err != nil {
		return nil, err
	}
	return op, nil
}

// Unlock releases a manual lock. An operation that holds the environment is
// not a lock to release: cancel it. With force, an operation whose owner
// runs on another machine (or has no process) is marked interrupted — for
// when that machine is gone for good. An operation of a live process on
// this machine is never broken: cancel it.
func (a *App) Unlock(ctx context.Context, id, env string, force bool) (*store.Operation, error) {
	need := accessOperate
	if force {
		need = accessAdmin
	}
	if err := a.authorizeEnv(ctx, need, "unlock", id, env); err != nil {
		return nil, err
	}
	holder, err := a.LockStatus(ctx, id, env)
	if err != nil {
		return nil, err
	}
	if holder == nil {
		return nil, usagef("%s of %s is not locked", env, id)
	}
	if holder.Kind == vocab.KindLock {
		err := a.db.FinishOperation(ctx, holder.ID, vocab.OpSucceeded, "", map[string]any{"unlockedBy": a.actor(ctx)})
		return holder, err
	}
	_, _, host := store.ProcessIdentity()
	local := holder.Host == host && holder.PID > 0
	switch {
	case local:
		return holder, usagef("%s of %s is held by %s %s, running in process %d on this machine; cancel it: cloud cancel %s",
			env, id, holder.Kind, holder.ID, holder.PID, holder.ID)
	case !force:
		return holder, usagef("%s of %s is held by %s %s of %s on %s since %s; if that machine is gone, break the lock with --force",
			env, id, holder.Kind, holder.ID, holder.Actor, holder.Host, holder.StartedAt.Format("2006-01-02 15:04:05"))
	}
	err = a.db.FinishOperation(ctx, holder.ID, vocab.OpInterrupted, fmt.Sprintf("lock broken by %s with unlock --force", a.actor(ctx)), nil)
	return holder, err
}

// EngineLock says which Pulumi stack ClearEngineLock cleared.
type EngineLock struct {
	Stack       string `json:"stack"`
	Environment string `json:"environment"`
	// PulumiStack is the stack's name in the Pulumi backend.
	PulumiStack string `json:"pulumiStack"`
	Output      string `json:"output"`
}

// ClearEngineLock removes the Pulumi engine's lock on one stack of an
// environment (`pulumi cancel`), for a lock cloud cannot prove stale on
// its own: an engine of another machine, or a backend that is not a local
// directory. It is refused while an operation of this machine holds the
// environment: cancel that instead.
func (a *App) ClearEngineLock(ctx context.Context, id, env, stack string) (*EngineLock, error) {
	if err := a.authorizeEnv(ctx, accessAdmin, "unlock", id, env); err != nil {
		return nil, err
	}
	m, _, err := a.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	if m.Environment(env) == nil {
		return nil, noEnvironment(m, env)
	}
	s := m.Stack(stack)
	if s == nil {
		return nil, usagef("deployment %s has no stack %q", id, stack)
	}
	holder, err := a.LockStatus(ctx, id, env)
	if err != nil {
		return nil, err
	}
	if _, _, host := store.ProcessIdentity(); holder != nil && holder.Kind != vocab.KindLock && holder.Host == host && holder.PID > 0 {
		return nil, usagef("%s of %s is held by %s %s, running in process %d on this machine: its engine's lock is in use; cancel it: cloud cancel %s",
			env, id, holder.Kind, holder.ID, holder.PID, holder.ID)
	}
	client, err := a.runnerClient()
	if err != nil {
		return nil, err
	}
	// The names runProgram gives the stack (and kit.ProjectStackName, for
	// a project stack, whose Pulumi project is the project's own).
	pulumiProject, name := manifest.ProjectName(m), stack+"-"+env
	prog, err := a.findProgram(ctx, s.Program)
	if err != nil {
		return nil, err
	}
	if prog.Project != "" {
		p, err := project.Load(prog.Project)
		if err != nil {
			return nil, err
		}
		pulumiProject, name = p.Name(), pulumiProject+"-"+name
	}
	// A file (or object store) backend's stacks are all under
	// "organization".
	ref := "organization/" + pulumiProject + "/" + name
	cmd := exec.CommandContext(ctx, client.Pulumi, "cancel", "--yes", "--non-interactive", "--stack", ref)
	cmd.Env = append(append(os.Environ(), client.Env...), "PULUMI_SKIP_UPDATE_CHECK=true",
		"PULUMI_BACKEND_URL="+a.backendURL(m.Backend), "PULUMI_HOME="+filepath.Join(a.cfg.Home, "pulumi"))
	cmd.Dir = a.cfg.Home
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(string(out))
	if err != nil {
		return nil, fmt.Errorf("pulumi cancel --stack %s: %s", ref, text)
	}
	return &EngineLock{Stack: stack, Environment: env, PulumiStack: ref, Output: text}, nil
}
