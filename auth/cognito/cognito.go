// Package cognito signs the CLI in to a cloud server's Cognito user pool
// and keeps the tokens it gets, per server, between commands.
//
// Sign-in is Cognito's USER_PASSWORD_AUTH flow through InitiateAuth, which
// needs no AWS credentials: the CLI is a public app client (no secret) and
// a user only knows their username and password. The password goes to
// Cognito over TLS and is never stored; only the tokens are, in one file
// readable by the user alone (Store).
//
// A challenge (a new password, multi-factor sign-in) is not answered here:
// Login returns a *ChallengeError naming it and saying what to do.
package cognito

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"
)

// Errors callers tell apart with errors.Is.
var (
	// ErrNotLoggedIn means there are no usable tokens for a server: none
	// were stored, or they can no longer be refreshed. The cure is
	// `cloud login`.
	ErrNotLoggedIn = errors.New("not logged in")
	// ErrBadCredentials means Cognito rejected the username or password.
	// It does not say which: Cognito hides whether a user exists.
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrSessionExpired means Cognito rejected the refresh token: it
	// expired, was revoked, or the user was disabled.
	ErrSessionExpired = errors.New("session expired")
)

// ChallengeError is returned by Login when Cognito answers the password
// with a challenge instead of tokens, e.g. NEW_PASSWORD_REQUIRED for a
// user an administrator created with a temporary password. The CLI does
// not answer challenges, so the user must settle it elsewhere first.
type ChallengeError struct {
	// Name is Cognito's challenge name, e.g. "NEW_PASSWORD_REQUIRED".
	Name string
	// Hint says what the user can do about it.
	Hint string
}

// Error implements error.
func (e *ChallengeError) Error() string {
	return fmt.Sprintf("Cognito asks for %s, which cloud login cannot answer: %s", e.Name, e.Hint)
}

func challengeError(name types.ChallengeNameType) *ChallengeError {
	var hint string
	switch name {
	case types.ChallengeNameTypeNewPasswordRequired:
		hint = "the password is temporary; set a permanent one (e.g. an administrator runs " +
			"`aws cognito-idp admin-set-user-password --permanent`) and log in again"
	case types.ChallengeNameTypeSmsMfa, types.ChallengeNameTypeSoftwareTokenMfa,
		types.ChallengeNameTypeSelectMfaType, types.ChallengeNameTypeMfaSetup,
		types.ChallengeNameTypeEmailOtp, types.ChallengeNameTypeSmsOtp:
		hint = "multi-factor sign-in is not supported yet; ask an administrator to turn MFA off for this user or app client"
	default:
		hint = "ask an administrator to let this user sign in with USER_PASSWORD_AUTH alone"
	}
	return &ChallengeError{Name: string(name), Hint: hint}
}

// Client is a Cognito app client the CLI signs in through. A server tells
// the CLI which one to use; it is stored with the tokens (Entry) so a
// refresh goes to the pool that issued them.
type Client struct {
	// Region is the user pool's AWS region, e.g. "eu-west-1".
	Region string `json:"region"`
	// ClientID is the app client's ID; the client must have no secret and
	// allow USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH.
	ClientID string `json:"client_id"`
	// Endpoint overrides Cognito's URL, for cognito-local in tests; ""
	// means AWS's cognito-idp endpoint in Region.
	Endpoint string `json:"endpoint,omitempty"`
}

// Tokens are what a sign-in or a refresh returns.
type Tokens struct {
	// IDToken is the JWT that says who the user is and their groups.
	IDToken string `json:"id_token"`
	// AccessToken is the JWT for Cognito's own user APIs.
	AccessToken string `json:"access_token"`
	// RefreshToken gets new ID and access tokens without the password.
	RefreshToken string `json:"refresh_token,omitempty"`
	// ExpiresAt is when the first of the ID and access tokens expires,
	// from ExpiresIn, counted from before the request so it errs early,
	// or, when Cognito sends no ExpiresIn (cognito-local does not), from
	// the tokens' exp claims. Zero means unknown: Store.Fresh then
	// refreshes every time.
	ExpiresAt time.Time `json:"expires_at"`
	// Username is the name the user signed in with.
	Username string `json:"username"`
}

// api builds an SDK client. Anonymous credentials, because InitiateAuth is
// a public operation: the CLI must work for users with no AWS account, and
// must not send AWS credentials it happens to find to an unknown endpoint.
func (c Client) api() (*cip.Client, error) {
	if c.Region == "" || c.ClientID == "" {
		return nil, errors.New("cognito client needs a region and a client ID")
	}
	o := cip.Options{Region: c.Region, Credentials: aws.AnonymousCredentials{}}
	if c.Endpoint != "" {
		o.BaseEndpoint = aws.String(c.Endpoint)
	}
	return cip.New(o), nil
}

// Login signs username in with password (USER_PASSWORD_AUTH). It returns
// an error wrapping ErrBadCredentials when Cognito rejects them, and a
// *ChallengeError when Cognito wants more than a password.
func (c Client) Login(ctx context.Context, username, password string) (*Tokens, error) {
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := api.InitiateAuth(ctx, &cip.InitiateAuthInput{
		AuthFlow:       types.AuthFlowTypeUserPasswordAuth,
		ClientId:       aws.String(c.ClientID),
		AuthParameters: map[string]string{"USERNAME": username, "PASSWORD": password},
	})
	if err != nil {
		return nil, fmt.Errorf("log in as %s: %w", username, loginError(err))
	}
	if out.ChallengeName != "" {
		return nil, fmt.Errorf("log in as %s: %w", username, challengeError(out.ChallengeName))
	}
	if out.AuthenticationResult == nil {
		return nil, fmt.Errorf("log in as %s: no tokens and no challenge from Cognito", username)
	}
	return newTokens(out.AuthenticationResult, start, username), nil
}

// loginError turns the Cognito errors a user can do something about into
// plain ones.
func loginError(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.ErrorCode() {
	// UserNotFoundException comes from pools that do not hide whether a
	// user exists, InvalidPasswordException from cognito-local for a wrong
	// password; AWS says NotAuthorizedException for both.
	case "NotAuthorizedException", "UserNotFoundException", "InvalidPasswordException":
		return fmt.Errorf("%w (Cognito: %s)", ErrBadCredentials, ae.ErrorMessage())
	case "PasswordResetRequiredException":
		return fmt.Errorf("the password must be reset first: ask an administrator: %w", ae)
	case "UserNotConfirmedException":
		return fmt.Errorf("the user is not confirmed yet: ask an administrator: %w", ae)
	case "ResourceNotFoundException":
		return fmt.Errorf("the server's Cognito app client does not exist: check its auth settings: %w", ae)
	case "InvalidParameterException":
		return fmt.Errorf("the server's Cognito app client may not allow USER_PASSWORD_AUTH: %w", ae)
	}
	return err
}

// Refresh gets new ID and access tokens with t's refresh token
// (REFRESH_TOKEN_AUTH). Cognito returns a new refresh token only when
// rotation is on; otherwise t's is kept. It returns an error wrapping
// ErrSessionExpired when Cognito rejects the refresh token.
func (c Client) Refresh(ctx context.Context, t *Tokens) (*Tokens, error) {
	if t == nil || t.RefreshToken == "" {
		return nil, fmt.Errorf("refresh tokens: %w: no refresh token", ErrSessionExpired)
	}
	api, err := c.api()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := api.InitiateAuth(ctx, &cip.InitiateAuthInput{
		AuthFlow:       types.AuthFlowTypeRefreshTokenAuth,
		ClientId:       aws.String(c.ClientID),
		AuthParameters: map[string]string{"REFRESH_TOKEN": t.RefreshToken},
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NotAuthorizedException" {
			return nil, fmt.Errorf("refresh tokens: %w (Cognito: %s)", ErrSessionExpired, ae.ErrorMessage())
		}
		return nil, fmt.Errorf("refresh tokens: %w", err)
	}
	if out.ChallengeName != "" {
		return nil, fmt.Errorf("refresh tokens: %w", challengeError(out.ChallengeName))
	}
	if out.AuthenticationResult == nil {
		return nil, errors.New("refresh tokens: no tokens from Cognito")
	}
	n := newTokens(out.AuthenticationResult, start, t.Username)
	if n.RefreshToken == "" {
		n.RefreshToken = t.RefreshToken
	}
	return n, nil
}

// Revoke revokes a refresh token (RevokeToken), so it can get no more
// tokens: signing out ends the session in Cognito, not only on this
// machine. ID and access tokens already issued stay valid until they
// expire. A token Cognito no longer knows (revoked before, or expired) is
// no error: the session is over either way.
func (c Client) Revoke(ctx context.Context, refreshToken string) error {
	if refreshToken == "" {
		return nil
	}
	api, err := c.api()
	if err != nil {
		return err
	}
	_, err = api.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String(c.ClientID), Token: aws.String(refreshToken)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NotAuthorizedException" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("revoke the refresh token: %w", err)
	}
	return nil
}

func newTokens(r *types.AuthenticationResultType, start time.Time, username string) *Tokens {
	t := &Tokens{
		IDToken:      aws.ToString(r.IdToken),
		AccessToken:  aws.ToString(r.AccessToken),
		RefreshToken: aws.ToString(r.RefreshToken),
		Username:     username,
	}
	var at []time.Time
	if r.ExpiresIn > 0 {
		at = append(at, start.Add(time.Duration(r.ExpiresIn)*time.Second))
	}
	for _, jwt := range []string{t.IDToken, t.AccessToken} {
		if exp, ok := expiry(jwt); ok {
			at = append(at, exp)
		}
	}
	for _, e := range at {
		if t.ExpiresAt.IsZero() || e.Before(t.ExpiresAt) {
			t.ExpiresAt = e
		}
	}
	return t
}

// expiry reads a JWT's exp claim without verifying the token: it only
// decides when to refresh, and the server verifies every token it is sent.
func expiry(jwt string) (time.Time, bool) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(b, &claims) != nil || claims.Exp == 0 {
		return time.Time{}, false
	}
	return time.Unix(claims.Exp, 0), true
}

// ServerKey normalises a server URL to the key Store files its tokens
// under: lower-case scheme and host, the port unless it is the scheme's
// default, nothing else (no path, no trailing slash), so
// "HTTPS://Cloud.example.com:443/api/" and "https://cloud.example.com" are
// one server. The scheme must be http or https: guessing one would file
// tokens under a server the user did not name.
func ServerKey(server string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", server, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("server URL %q: must start with http:// or https://", server)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", fmt.Errorf("server URL %q: no host", server)
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	switch {
	case port != "":
		host = net.JoinHostPort(host, port)
	case strings.Contains(host, ":"): // IPv6
		host = "[" + host + "]"
	}
	return scheme + "://" + host, nil
}

// Store keeps tokens per server in one JSON file, readable and writable by
// the user alone (0600, in a 0700 directory when it creates it), replaced
// atomically (temp file, fsync, rename) so a crash never leaves half a
// file. The file is read and rewritten whole on every change, so two cloud
// processes changing it at once can lose one change; the loser's tokens
// are then those of before, or none, and it logs in again.
type Store struct {
	// Path is the file, e.g. DefaultPath().
	Path string
}

// DefaultPath returns where the CLI keeps its tokens:
// $XDG_CONFIG_HOME/cloud/tokens.json, or the platform's equivalent.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config directory: %w", err)
	}
	return filepath.Join(dir, "cloud", "tokens.json"), nil
}

// Entry is what Store keeps for one server: the app client that issued the
// tokens, and the tokens.
type Entry struct {
	// Server is the server's key (ServerKey); Save normalises it.
	Server string `json:"server"`
	// Client is the Cognito app client the tokens came from.
	Client Client `json:"client"`
	// Tokens are the user's tokens for Server.
	Tokens Tokens `json:"tokens"`
}

// fileVersion is the version of the file format Store writes; it refuses
// files of a later one rather than losing what it does not understand.
const fileVersion = 1

type storeFile struct {
	Version int              `json:"version"`
	Servers map[string]Entry `json:"servers"`
}

// Save stores e under its normalised server, replacing what was there.
func (s Store) Save(e Entry) error {
	key, err := ServerKey(e.Server)
	if err != nil {
		return err
	}
	e.Server = key
	f, err := s.read()
	if err != nil {
		return err
	}
	f.Servers[key] = e
	return s.write(f)
}

// Load returns the entry of server. It returns an error wrapping
// ErrNotLoggedIn when there is none, the file included.
func (s Store) Load(server string) (*Entry, error) {
	key, err := ServerKey(server)
	if err != nil {
		return nil, err
	}
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	e, ok := f.Servers[key]
	if !ok {
		return nil, fmt.Errorf("%w to %s: run cloud login", ErrNotLoggedIn, key)
	}
	return &e, nil
}

// Delete removes the entry of server. Deleting an entry that is not there
// is not an error, so logging out twice is harmless.
func (s Store) Delete(server string) error {
	key, err := ServerKey(server)
	if err != nil {
		return err
	}
	f, err := s.read()
	if err != nil {
		return err
	}
	if _, ok := f.Servers[key]; !ok {
		return nil
	}
	delete(f.Servers, key)
	return s.write(f)
}

// Fresh returns the entry of server with tokens that stay valid for at
// least within: when they expire sooner it refreshes them and saves the
// result. It returns an error wrapping ErrNotLoggedIn when there is no
// entry or Cognito rejects the refresh token (wrapping ErrSessionExpired
// too). When the refresh fails otherwise (e.g. Cognito is unreachable) but
// the tokens have not expired yet, it returns the entry as it is: they
// still work, and the next call tries again.
func (s Store) Fresh(ctx context.Context, server string, within time.Duration) (*Entry, error) {
	e, err := s.Load(server)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	exp := e.Tokens.ExpiresAt
	if !exp.IsZero() && exp.Sub(now) > within {
		return e, nil
	}
	t, err := e.Client.Refresh(ctx, &e.Tokens)
	switch {
	case errors.Is(err, ErrSessionExpired):
		return nil, fmt.Errorf("%w to %s: %w: run cloud login", ErrNotLoggedIn, e.Server, err)
	case err != nil && !exp.IsZero() && now.Before(exp):
		return e, nil
	case err != nil:
		return nil, fmt.Errorf("%s: %w", e.Server, err)
	}
	e.Tokens = *t
	if err := s.Save(*e); err != nil {
		return nil, err
	}
	return e, nil
}

// read returns the file's contents; a missing file is an empty one.
func (s Store) read() (*storeFile, error) {
	f := &storeFile{Version: fileVersion, Servers: map[string]Entry{}}
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("read tokens %s: %w", s.Path, err)
	}
	if f.Version > fileVersion {
		return nil, fmt.Errorf("read tokens %s: version %d is newer than this cloud understands (%d)",
			s.Path, f.Version, fileVersion)
	}
	if f.Servers == nil {
		f.Servers = map[string]Entry{}
	}
	f.Version = fileVersion
	return f, nil
}

// write replaces the file atomically. The temporary file is created 0600
// before anything is written to it, so tokens are never readable by
// others, not even for a moment.
func (s Store) write(f *storeFile) (err error) {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(s.Path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.Path); err != nil {
		return fmt.Errorf("write tokens: %w", err)
	}
	// Make the rename durable; not every platform can sync a directory,
	// and the file is already complete, so a failure here is not one.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
