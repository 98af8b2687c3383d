package app

import (
	"context"
	"slices"
)

// Role is what an authenticated caller may do. Roles come from the
// caller's Cognito groups (see RoleFromGroups).
type Role string

// The roles, from most to least powerful.
const (
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
	// RoleDeployer reads everything and deploys, destroys, rolls back and
	// cancels, except in protected environments.
	RoleDeployer Role = "deployer"
	// RoleViewer reads, and never sees secret outputs.
	RoleViewer Role = "viewer"
)

// RoleFromGroups is the strongest role the groups name ("admin",
// "deployer", "viewer"), or "" when they name none: such a caller is
// authenticated but may do nothing.
func RoleFromGroups(groups []string) Role {
	for _, r := range []Role{RoleAdmin, RoleDeployer, RoleViewer} {
		if slices.Contains(groups, string(r)) {
			return r
		}
	}
	return ""
}

// Caller is who asks the application core for something through an
// authenticated door (the server with Cognito). A context without a
// Caller is the local user of the home (the CLI, `cloud serve --auth
// none`), who may do everything.
type Caller struct {
	// Subject is the token's stable user id (sub).
	Subject string `json:"subject"`
	// Username is the human name (cognito:username or username).
	Username string `json:"username"`
	// Groups are the caller's groups (cognito:groups).
	Groups []string `json:"groups,omitempty"`
	// Role is derived from Groups.
	Role Role `json:"role"`
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom is the Caller ctx carries, or nil for the local user.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}
