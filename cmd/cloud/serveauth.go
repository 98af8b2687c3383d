package main

// cloud serve's Cognito flags into the server's authenticator.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/auth"
	"github.com/cloudplatform/cloud/server"
	"github.com/urfave/cli/v2"
)

// authFileName is the server's authentication settings in the home, read
// before the environment variables and flags that override them.
const authFileName = "auth.json"

// authSettings is how `cloud serve` authenticates: auth.json in the home,
// then CLOUD_AUTH* / CLOUD_COGNITO_* variables, then flags.
type authSettings struct {
	Mode       string   `json:"mode,omitempty"` // none or cognito
	UserPoolID string   `json:"userPoolId,omitempty"`
	Region     string   `json:"region,omitempty"`
	Issuer     string   `json:"issuer,omitempty"`
	ClientIDs  []string `json:"clientIds,omitempty"`
	Endpoint   string   `json:"endpoint,omitempty"`
}

func serveAuthFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "auth", Usage: "authentication: none (loopback only unless --allow-unauthenticated) or cognito", DefaultText: "none", EnvVars: []string{"CLOUD_AUTH"}},
		&cli.BoolFlag{Name: "allow-unauthenticated", Usage: "with --auth none, serve on a non-loopback address anyway (anyone who reaches it may deploy)"},
		&cli.StringFlag{Name: "cognito-user-pool-id", Usage: "Cognito user pool ID (the platform stack's userPoolId)", EnvVars: []string{"CLOUD_COGNITO_USER_POOL_ID"}},
		&cli.StringFlag{Name: "cognito-region", Usage: "AWS region of the user pool (default: the pool ID's prefix)", EnvVars: []string{"CLOUD_COGNITO_REGION"}},
		&cli.StringFlag{Name: "cognito-issuer", Usage: "issuer URL of the pool's tokens, instead of the pool ID and region (the platform stack's issuer)", EnvVars: []string{"CLOUD_COGNITO_ISSUER"}},
		&cli.StringSliceFlag{Name: "cognito-client-id", Usage: "allowed app client ID (repeatable; the first is the one clients sign in with)", EnvVars: []string{"CLOUD_COGNITO_CLIENT_IDS"}},
		&cli.StringFlag{Name: "cognito-endpoint", Usage: "Cognito API URL instead of AWS (a local Cognito-compatible server)", EnvVars: []string{"CLOUD_COGNITO_ENDPOINT"}},
		&cli.DurationFlag{Name: "jwks-refresh-interval", Value: auth.DefaultRefreshInterval, Usage: "least time between two fetches of the pool's keys when a token names an unknown key (key rotation)"},
		&cli.StringFlag{Name: "cognito-from", Usage: "read the pool's settings from the outputs of a deployment's platform stack: ID/ENVIRONMENT"},
		&cli.StringSliceFlag{Name: "cors-origin", Usage: "browser origin allowed to call the API from another site (repeatable; default: none)", EnvVars: []string{"CLOUD_CORS_ORIGINS"}},
		&cli.BoolFlag{Name: "trust-proxy", Usage: "take the client address from X-Forwarded-For (only behind a proxy that sets it)"},
		&cli.Float64Flag{Name: "rate-limit", Usage: "requests per second per client (negative: no limit)", DefaultText: fmt.Sprint(server.DefaultRatePerSecond)},
		&cli.IntFlag{Name: "burst", Usage: "requests a client may make at once above the rate", DefaultText: fmt.Sprint(server.DefaultBurst)},
	}
}

// serveAuthOptions are the authentication flags of `cloud serve` as
// given: a nil field (or ClientIDs) was not, and auth.json or the
// environment decides it.
type serveAuthOptions struct {
	Mode, UserPoolID, Region, Issuer, Endpoint *string
	ClientIDs                                  []string
	// From is --cognito-from, ID/ENV of a deployed platform stack.
	From                 string
	AllowUnauthenticated bool
	JWKSRefresh          time.Duration
}

// serveAuthFromFlags reads the authentication flags.
func serveAuthFromFlags(c *cli.Context) serveAuthOptions {
	o := serveAuthOptions{From: c.String("cognito-from"), AllowUnauthenticated: c.Bool("allow-unauthenticated"),
		JWKSRefresh: c.Duration("jwks-refresh-interval")}
	for name, dst := range map[string]**string{"auth": &o.Mode, "cognito-user-pool-id": &o.UserPoolID,
		"cognito-region": &o.Region, "cognito-issuer": &o.Issuer, "cognito-endpoint": &o.Endpoint} {
		if c.IsSet(name) {
			v := c.String(name)
			*dst = &v
		}
	}
	if c.IsSet("cognito-client-id") {
		o.ClientIDs = c.StringSlice("cognito-client-id")
	}
	return o
}

// serveLimits reads the limit flags.
func serveLimits(c *cli.Context) server.Limits {
	return server.Limits{CORSOrigins: c.StringSlice("cors-origin"), TrustProxy: c.Bool("trust-proxy"),
		RatePerSecond: c.Float64("rate-limit"), Burst: c.Int("burst")}
}

// serveAuth builds the server's authentication from the home's auth.json,
// the environment and the flags (o), and refuses an unauthenticated server
// on an address others can reach (listen) unless told to.
func (e *env) serveAuth(ctx context.Context, a *app.App, log *slog.Logger, listen string, o serveAuthOptions) (server.Auth, error) {
	s, err := loadAuthSettings(e.home)
	if err != nil {
		return server.Auth{}, err
	}
	set := func(v *string, dst *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(o.Mode, &s.Mode)
	set(o.UserPoolID, &s.UserPoolID)
	set(o.Region, &s.Region)
	set(o.Issuer, &s.Issuer)
	set(o.Endpoint, &s.Endpoint)
	if o.ClientIDs != nil {
		s.ClientIDs = o.ClientIDs
	}
	if o.From != "" {
		if err := s.fromPlatform(ctx, a, o.From); err != nil {
			return server.Auth{}, err
		}
		if o.Mode == nil && s.Mode == "" {
			s.Mode = "cognito"
		}
	}
	switch s.Mode {
	case "", "none":
		return server.Auth{}, checkUnauthenticated(listen, o.AllowUnauthenticated, log)
	case "cognito":
	default:
		return server.Auth{}, usageError("--auth %q: want none or cognito", s.Mode)
	}
	if s.Region == "" && s.UserPoolID != "" {
		// A pool ID starts with its region: eu-west-1_AbCdEf123.
		if i := strings.IndexByte(s.UserPoolID, '_'); i > 0 {
			s.Region = s.UserPoolID[:i]
		}
	}
	if s.Issuer == "" {
		if s.UserPoolID == "" || s.Region == "" {
			return server.Auth{}, usageError("--auth cognito needs the user pool: --cognito-user-pool-id (and --cognito-region), --cognito-issuer, or --cognito-from ID/ENV")
		}
		s.Issuer = auth.CognitoIssuer(s.Region, s.UserPoolID)
	}
	if len(s.ClientIDs) == 0 {
		return server.Auth{}, usageError("--auth cognito needs the app client IDs whose tokens are accepted: --cognito-client-id (the platform stack's userPoolClientId)")
	}
	v, err := auth.NewVerifier(auth.Config{Issuer: s.Issuer, ClientIDs: s.ClientIDs,
		RefreshInterval: o.JWKSRefresh})
	if err != nil {
		return server.Auth{}, usageError("--auth cognito: %v", err)
	}
	// Fetch the keys now so a wrong issuer shows at start, not at the
	// first request; the server still starts (the pool may be back soon).
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := v.Warm(wctx); err != nil {
		log.Warn("auth: the user pool's signing keys could not be fetched; requests get 503 until they can", "issuer", s.Issuer, "error", err)
	}
	log.Info("auth: cognito", "issuer", s.Issuer, "clients", strings.Join(s.ClientIDs, ","))
	if s.Region == "" {
		s.Region = "us-east-1" // only names the signing endpoint; a local server ignores it
	}
	return server.Auth{Verifier: v, Cognito: &server.CognitoInfo{Region: s.Region, UserPoolID: s.UserPoolID,
		ClientID: s.ClientIDs[0], Issuer: s.Issuer, Endpoint: s.Endpoint}}, nil
}

// checkUnauthenticated refuses to serve without authentication on an
// address other machines can reach, unless allowed (then it warns).
func checkUnauthenticated(listen string, allow bool, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return usageError("--listen %q: %v", listen, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if !allow {
		return usageError("refusing to serve without authentication on %s, which other machines can reach: use --auth cognito, listen on 127.0.0.1, or pass --allow-unauthenticated", listen)
	}
	log.Warn("serving WITHOUT authentication on a non-loopback address: anyone who reaches it may deploy and destroy", "listen", listen)
	return nil
}

// fromPlatform reads the pool's settings from the outputs of the platform
// stack of a deployment's environment ("ID/ENV").
func (s *authSettings) fromPlatform(ctx context.Context, a *app.App, from string) error {
	id, env, ok := strings.Cut(from, "/")
	if !ok || id == "" || env == "" {
		return usageError("--cognito-from %q: want DEPLOYMENT_ID/ENVIRONMENT", from)
	}
	outs, err := a.Outputs(ctx, id, env, "", false)
	if err != nil {
		return fmt.Errorf("--cognito-from %s: %w", from, err)
	}
	for _, o := range outs {
		pool, _ := o["userPoolId"].Value.(string)
		client, _ := o["userPoolClientId"].Value.(string)
		if pool == "" || client == "" {
			continue
		}
		issuer, _ := o["issuer"].Value.(string)
		s.UserPoolID, s.Issuer, s.ClientIDs = pool, issuer, []string{client}
		return nil
	}
	return usageError("--cognito-from %s: no stack of %s in %s has the outputs userPoolId and userPoolClientId (deploy the platform stack there first)", from, id, env)
}

// loadAuthSettings reads <home>/auth.json; a missing file is no settings.
func loadAuthSettings(home string) (authSettings, error) {
	var s authSettings
	path := filepath.Join(home, authFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
