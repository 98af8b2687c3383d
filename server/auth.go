package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/auth"
	"github.com/cloudplatform/cloud/auth/cognito"
	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/server/rest"
)

// Auth configures who may call the server. The zero value is no
// authentication: every request acts as the local user of the home
// (`cloud serve --auth none`, bound to loopback unless told otherwise).
type Auth struct {
	// Verifier checks the Bearer tokens of REST and GraphQL requests and
	// the token of a WebSocket's connection_init; nil turns
	// authentication off.
	Verifier *auth.Verifier
	// Cognito tells clients where to sign in (`cloud login --server`, the
	// dashboard): served at /auth/config, and used by /auth/login and
	// /auth/refresh. Nil with a Verifier: tokens are checked, but clients
	// must get theirs elsewhere.
	Cognito *CognitoInfo
}

// CognitoInfo is the public description of the user pool clients sign in
// to. None of it is secret: it is in every token the pool issues.
type CognitoInfo struct {
	Region     string `json:"region"`
	UserPoolID string `json:"userPoolId,omitempty"`
	// ClientID is the app client clients sign in with (USER_PASSWORD_AUTH).
	ClientID string `json:"clientId"`
	Issuer   string `json:"issuer"`
	// Endpoint overrides the Cognito API's address (cognito-local); empty
	// for AWS.
	Endpoint string `json:"endpoint,omitempty"`
}

// CodeUnauthenticated is the error code of a request without a valid
// token (401), in problem documents and GraphQL error extensions.
const CodeUnauthenticated = rest.CodeUnauthenticated

// CloseForbidden is the WebSocket close code of a connection whose
// connection_init carried no valid token (graphql-transport-ws uses 4403
// for "Forbidden").
const CloseForbidden = 4403

// publicPath reports whether a path is served without a token: probes,
// metrics, the dashboard's static files (it signs in through /auth/*),
// sign-in itself and the playground page (its requests carry the token).
func publicPath(path string) bool {
	return exempt(path) || strings.HasPrefix(path, "/auth/") || path == "/graphql/playground"
}

// authenticate puts the caller of every request with a valid Bearer token
// in its context (app.WithCaller) and refuses the others with 401 (503
// when the pool's keys cannot be fetched). WebSocket upgrades without an
// Authorization header pass: graphql-transport-ws carries the token in
// connection_init (see wsInit).
func (s *Server) authenticate(next http.Handler) http.Handler {
	v := s.cfg.Auth.Verifier
	if v == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if publicPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		token, err := auth.BearerToken(r)
		if err == nil && token == "" {
			if isWebSocket(r) {
				next.ServeHTTP(w, r)
				return
			}
			err = &auth.Error{Reason: "missing token"}
		}
		var caller *app.Caller
		if err == nil {
			caller, _, err = s.verify(r.Context(), token)
		}
		if err != nil {
			s.refuseToken(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(app.WithCaller(r.Context(), caller)))
	})
}

// verify checks a token and returns its caller and when the token
// expires. A valid token of a user in none of the groups admin, deployer
// and viewer is refused: such a user may do nothing, not even read.
func (s *Server) verify(ctx context.Context, token string) (*app.Caller, time.Time, error) {
	claims, err := s.cfg.Auth.Verifier.Verify(ctx, token)
	if err != nil {
		return nil, time.Time{}, err
	}
	c := &app.Caller{Subject: claims.Subject, Username: claims.Username, Groups: claims.Groups,
		Role: app.RoleFromGroups(claims.Groups)}
	if c.Role == "" {
		return nil, time.Time{}, &noRoleError{user: c.Username}
	}
	return c, claims.ExpiresAt, nil
}

// noRoleError is a valid token of a user in none of the role groups.
type noRoleError struct{ user string }

func (e *noRoleError) Error() string {
	return fmt.Sprintf("%s is in none of the groups admin, deployer and viewer: ask an admin to add you to one", e.user)
}

// refuseToken answers a request whose token was refused: 401 with a
// WWW-Authenticate challenge, 403 for a user without a role, 503 when
// the keys to check it are unavailable. Refusals count against the
// client's rate limit (by address), so guessing tokens is as slow as
// any other flood.
func (s *Server) refuseToken(w http.ResponseWriter, r *http.Request, err error) {
	if wait, ok := s.limits.allow(clientKey(r.Context())); !ok {
		s.limits.rateLimited.Inc()
		refuse(w, r, http.StatusTooManyRequests, CodeRateLimited, wait, "too many requests")
		return
	}
	var nr *noRoleError
	if errors.As(err, &nr) {
		refuse(w, r, http.StatusForbidden, graph.CodeForbidden, 0, nr.Error())
		return
	}
	status, msg := http.StatusUnauthorized, err.Error()
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Reason == "signing keys unavailable" {
		status = http.StatusServiceUnavailable
		s.log.Warn("token check: the user pool's signing keys are unavailable", "error", errors.Unwrap(ae))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="cloud", error="invalid_token", error_description=%q`, msg))
	}
	refuse(w, r, status, CodeUnauthenticated, 0, msg)
}

// wsInit checks the token of a graphql-transport-ws connection_init
// (payload {"Authorization": "Bearer <token>"}, or "authorization", or
// "token"). A bad one closes the connection with 4403 and the reason. The
// connection ends when its token expires, so a subscription never outlives
// the right to read it; clients reconnect with a fresh token and resume.
func (s *Server) wsInit(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	if s.cfg.Auth.Verifier == nil || app.CallerFrom(ctx) != nil {
		return ctx, nil, nil
	}
	token := initToken(payload)
	var (
		caller *app.Caller
		exp    time.Time
		err    error
	)
	if token == "" {
		err = &auth.Error{Reason: "missing token"}
	} else {
		caller, exp, err = s.verify(ctx, token)
	}
	if err != nil {
		reason := err.Error()
		if len(reason) > 120 { // a close reason holds at most 123 bytes
			reason = reason[:120]
		}
		ctx = transport.WithWebsocketCloseCode(ctx, CloseForbidden)
		ctx = transport.AppendCloseReason(ctx, reason)
		return ctx, nil, err
	}
	ctx = app.WithCaller(ctx, caller)
	if !exp.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, exp)
		go func() { <-ctx.Done(); cancel() }()
		// Sent as a connection_error before the close when the deadline
		// ends the connection, so clients can tell expiry from a restart.
		ctx = transport.AppendCloseReason(ctx, "token expired")
	}
	return ctx, nil, nil
}

// initToken finds the token in a connection_init payload.
func initToken(p transport.InitPayload) string {
	for _, k := range []string{"Authorization", "authorization", "token"} {
		if v, ok := p[k].(string); ok && v != "" {
			if f := strings.Fields(v); len(f) == 2 && strings.EqualFold(f[0], "bearer") {
				return f[1]
			}
			return v
		}
	}
	return ""
}

// authRoutes serves sign-in for clients that have only a username and a
// password (the dashboard): where to sign in, and sign-in, refresh and
// sign-out (revoking the refresh token) through the server, which asks
// Cognito (USER_PASSWORD_AUTH) and hands the tokens back. The server keeps
// nothing.
func (s *Server) authRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/config", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{"mode": "none"}
		if s.cfg.Auth.Verifier != nil {
			out = map[string]any{"mode": "cognito", "issuer": s.cfg.Auth.Verifier.Issuer()}
			if c := s.cfg.Auth.Cognito; c != nil {
				out["cognito"] = c
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /auth/login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Username, Password string }
		client, ok := s.signInClient(w, r, &in)
		if !ok {
			return
		}
		if in.Username == "" || in.Password == "" {
			refuse(w, r, http.StatusBadRequest, "BAD_USER_INPUT", 0, "username and password are required")
			return
		}
		t, err := client.Login(r.Context(), in.Username, in.Password)
		s.answerTokens(w, r, t, err)
	})
	mux.HandleFunc("POST /auth/logout", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ RefreshToken string }
		client, ok := s.signInClient(w, r, &in)
		if !ok {
			return
		}
		if err := client.Revoke(r.Context(), in.RefreshToken); err != nil {
			s.log.Warn("sign-out: the refresh token could not be revoked", "error", err)
			refuse(w, r, http.StatusBadGateway, graph.CodeUnavailable, 0, "the user pool did not answer; try again")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /auth/refresh", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ RefreshToken string }
		client, ok := s.signInClient(w, r, &in)
		if !ok {
			return
		}
		if in.RefreshToken == "" {
			refuse(w, r, http.StatusBadRequest, "BAD_USER_INPUT", 0, "refreshToken is required")
			return
		}
		t, err := client.Refresh(r.Context(), &cognito.Tokens{RefreshToken: in.RefreshToken})
		s.answerTokens(w, r, t, err)
	})
}

// signInClient decodes a sign-in request into in and returns the Cognito
// client to ask; it answers the request itself when it cannot.
func (s *Server) signInClient(w http.ResponseWriter, r *http.Request, in any) (cognito.Client, bool) {
	c := s.cfg.Auth.Cognito
	if s.cfg.Auth.Verifier == nil || c == nil {
		refuse(w, r, http.StatusNotFound, "NOT_FOUND", 0, "this server does not sign users in (see GET /auth/config)")
		return cognito.Client{}, false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(in); err != nil {
		refuse(w, r, http.StatusBadRequest, "BAD_USER_INPUT", 0, "a JSON object is required: "+err.Error())
		return cognito.Client{}, false
	}
	return cognito.Client{Region: c.Region, ClientID: c.ClientID, Endpoint: c.Endpoint}, true
}

// answerTokens answers a sign-in: the tokens, or why not. Wrong
// credentials get one message whatever Cognito said, so the answer does
// not tell whether the user exists; the password is never in it. A user
// in none of the role groups is refused here rather than handed tokens
// that every call would refuse.
func (s *Server) answerTokens(w http.ResponseWriter, r *http.Request, t *cognito.Tokens, err error) {
	var ch *cognito.ChallengeError
	switch {
	case errors.Is(err, cognito.ErrBadCredentials):
		refuse(w, r, http.StatusUnauthorized, CodeUnauthenticated, 0, "wrong username or password")
		return
	case errors.Is(err, cognito.ErrSessionExpired):
		refuse(w, r, http.StatusUnauthorized, CodeUnauthenticated, 0, "the session expired: sign in again")
		return
	case errors.As(err, &ch):
		refuse(w, r, http.StatusUnauthorized, CodeUnauthenticated, 0, ch.Error())
		return
	case err != nil:
		s.log.Warn("sign-in: Cognito did not answer", "error", err)
		refuse(w, r, http.StatusBadGateway, graph.CodeUnavailable, 0, "the user pool did not answer; try again")
		return
	}
	// The tokens come straight from Cognito, but the server trusts only
	// what it verifies: the same check as every request, which also
	// gives the username a refresh does not return.
	caller, _, err := s.verify(r.Context(), t.IDToken)
	if err != nil {
		var nr *noRoleError
		if errors.As(err, &nr) {
			refuse(w, r, http.StatusForbidden, graph.CodeForbidden, 0, nr.Error())
			return
		}
		s.log.Warn("sign-in: the pool's token does not pass this server's check (is --cognito-client-id the client users sign in with?)", "error", err)
		refuse(w, r, http.StatusUnauthorized, CodeUnauthenticated, 0, err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store") // tokens
	writeJSON(w, http.StatusOK, map[string]any{"idToken": t.IDToken, "accessToken": t.AccessToken,
		"refreshToken": t.RefreshToken, "expiresAt": t.ExpiresAt.UTC().Format(time.RFC3339),
		"username": caller.Username, "role": caller.Role})
}
