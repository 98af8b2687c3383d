package main

// cloud login and cloud logout: options, run functions, the prompts and the kept tokens of a server.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/auth/cognito"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// tokensFile is where the CLI keeps its tokens: in the home, so each home
// (a user, a CI job, a test) has its own sign-ins, next to the rest of
// what cloud keeps.
const tokensFile = "tokens.json"

// tokenStore is the store of this home's sign-ins.
func (e *env) tokenStore() cognito.Store {
	return cognito.Store{Path: filepath.Join(e.home, tokensFile)}
}

// serverFlag is --server on the commands that also have it themselves
// (login, logout, monitor), so it reads naturally after the command.
func serverFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "server", Usage: usage}
}

// loginOptions are what `cloud login` runs with.
type loginOptions struct {
	// Tokens is where the sign-ins are kept (the home's).
	Tokens cognito.Store
	// Now tells whether the kept ID token has expired.
	Now func() time.Time
	// Server is the server's key (cognito.ServerKey): the command's
	// --server, else the global one.
	Server string
	// Username is asked for on a terminal when "".
	Username      string
	PasswordStdin bool
	// Status shows the kept login instead of logging in.
	Status bool
}

func loginCommand(e *env, runF func(context.Context, *loginOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "login",
		Usage: "sign in to a `cloud serve` server that runs with --auth cognito",
		Description: `Asks the server how it authenticates (GET /auth/config). A server without
authentication needs no login. For a Cognito server, signs in to its user pool
with the username and password (USER_PASSWORD_AUTH) and keeps the tokens in
$CLOUD_HOME/tokens.json (readable by you alone), per server. Commands run with
--server then send the ID token, and renew it with the refresh token before it
expires; when that no longer works, log in again.

The password is asked for without echo on a terminal; --password-stdin reads
one line from standard input instead (for scripts and CI). It is sent to
Cognito only and never stored.

--status shows who you are logged in as on the server, your groups (admin,
deployer or viewer) and when the ID token expires.

Examples:
   cloud login --server https://cloud.example.com
   echo "$PASSWORD" | cloud login --server https://cloud.example.com --username alice --password-stdin
   cloud login --server https://cloud.example.com --status`,
		Flags: []cli.Flag{
			serverFlag("`URL` of the cloud serve server (default: the global --server)"),
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "username (asked for when not given)"},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from standard input (one line)"},
			&cli.BoolFlag{Name: "status", Usage: "show the login kept for the server instead of logging in"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("login takes no arguments (give the server with --server)")
			}
			key, err := e.serverKey(c, "login")
			if err != nil {
				return err
			}
			opts := &loginOptions{Tokens: e.tokenStore(), Now: time.Now, Server: key, Username: c.String("username"),
				PasswordStdin: c.Bool("password-stdin"), Status: c.Bool("status")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.loginRun(c.Context, opts)
		},
	}
}

// serverKey is the key of the server command c (login or logout) names:
// a usage error when it names none, or not a URL.
func (e *env) serverKey(c *cli.Context, what string) (string, error) {
	srv := e.server(c)
	if srv == "" {
		return "", usageError("%s: give the server with --server URL (or CLOUD_SERVER)", what)
	}
	key, err := cognito.ServerKey(srv)
	if err != nil {
		return "", usageError("%v", err)
	}
	return key, nil
}

// loginRun logs in, or shows the login kept (--status).
func (e *env) loginRun(ctx context.Context, opts *loginOptions) error {
	if opts.Status {
		return e.loginStatus(opts)
	}
	return e.login(ctx, opts)
}

// logoutOptions are what `cloud logout` runs with.
type logoutOptions struct {
	// Tokens is where the sign-ins are kept (the home's).
	Tokens cognito.Store
	// Server is the server's key (cognito.ServerKey).
	Server string
}

func logoutCommand(e *env, runF func(context.Context, *logoutOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "logout",
		Usage: "forget the tokens kept for a server",
		Description: `Revokes the refresh token cloud login kept for the server in Cognito (so it
can get no new tokens, here or wherever it was copied) and deletes the
tokens from this home. When Cognito cannot be reached the tokens are
deleted anyway, with a warning. Logging out of a server you are not logged
in to is not an error.

Examples:
   cloud logout --server https://cloud.example.com`,
		Flags: []cli.Flag{serverFlag("`URL` of the cloud serve server (default: the global --server)")},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError("logout takes no arguments (give the server with --server)")
			}
			key, err := e.serverKey(c, "logout")
			if err != nil {
				return err
			}
			opts := &logoutOptions{Tokens: e.tokenStore(), Server: key}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.logoutRun(c.Context, opts)
		},
	}
}

// logoutRun revokes the kept refresh token, best effort, and forgets the
// tokens.
func (e *env) logoutRun(ctx context.Context, opts *logoutOptions) error {
	ent, err := opts.Tokens.Load(opts.Server)
	if errors.Is(err, cognito.ErrNotLoggedIn) {
		e.status("not logged in to %s", opts.Server)
		return nil
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := ent.Client.Revoke(ctx, ent.Tokens.RefreshToken); err != nil {
			e.status("warning: %v; the tokens are deleted here, and the refresh token lapses on its own", err)
		}
	}
	if err := opts.Tokens.Delete(opts.Server); err != nil {
		return err
	}
	e.status("logged out of %s", opts.Server)
	return nil
}

// authConfig is the server's answer to GET /auth/config.
type authConfig struct {
	Mode    string `json:"mode"`
	Issuer  string `json:"issuer"`
	Cognito *struct {
		Region     string `json:"region"`
		UserPoolID string `json:"userPoolId"`
		ClientID   string `json:"clientId"`
		Issuer     string `json:"issuer"`
		Endpoint   string `json:"endpoint"`
	} `json:"cognito"`
}

// fetchAuthConfig asks a server how it authenticates.
func fetchAuthConfig(ctx context.Context, server string) (*authConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/auth/config", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask %s how it authenticates: %w", server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ask %s how it authenticates: GET /auth/config: %s (is it a cloud server?)", server, resp.Status)
	}
	var cfg authConfig
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&cfg); err != nil {
		return nil, fmt.Errorf("ask %s how it authenticates: %w", server, err)
	}
	return &cfg, nil
}

// login signs in to opts.Server and keeps the tokens.
func (e *env) login(ctx context.Context, opts *loginOptions) error {
	server, username, passwordStdin := opts.Server, opts.Username, opts.PasswordStdin
	cfg, err := fetchAuthConfig(ctx, server)
	if err != nil {
		return err
	}
	switch cfg.Mode {
	case "none":
		e.status("%s runs without authentication: it needs no login", server)
		return nil
	case "cognito":
	default:
		return fmt.Errorf("%s authenticates with %q, which this cloud does not know", server, cfg.Mode)
	}
	if cfg.Cognito == nil || cfg.Cognito.ClientID == "" {
		return fmt.Errorf("%s checks Cognito tokens but does not say where to sign in (no app client in /auth/config): get a token elsewhere", server)
	}
	stdinTTY := isTerminal(e.io.In)
	in := bufio.NewReader(e.io.In)
	if username == "" {
		// With --password-stdin, standard input is the password's.
		if passwordStdin || !stdinTTY {
			return usageError("login: give --username (there is no terminal to ask on)")
		}
		fmt.Fprint(e.io.Err, "Username: ")
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read the username: %w", err)
		}
		username = strings.TrimSpace(line)
		if username == "" {
			return usageError("login: no username")
		}
	}
	var password string
	switch {
	case passwordStdin:
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return usageError("login: --password-stdin: no password on standard input")
		}
		password = strings.TrimRight(line, "\r\n")
	case stdinTTY:
		fmt.Fprintf(e.io.Err, "Password for %s: ", username)
		b, err := term.ReadPassword(int(e.io.In.(*os.File).Fd()))
		fmt.Fprintln(e.io.Err)
		if err != nil {
			return fmt.Errorf("read the password: %w", err)
		}
		password = string(b)
	default:
		return usageError("login: no terminal to ask for the password on: use --password-stdin")
	}
	if password == "" {
		return usageError("login: empty password")
	}
	client := cognito.Client{Region: cfg.Cognito.Region, ClientID: cfg.Cognito.ClientID, Endpoint: cfg.Cognito.Endpoint}
	tokens, err := client.Login(ctx, username, password)
	if err != nil {
		return fmt.Errorf("login to %s failed: %w", server, err)
	}
	if err := opts.Tokens.Save(cognito.Entry{Server: server, Client: client, Tokens: *tokens}); err != nil {
		return err
	}
	cl := idClaims(tokens.IDToken)
	who := cl.Username
	if who == "" {
		who = username
	}
	e.status("logged in to %s as %s (groups: %s)", server, who, orNone(cl.Groups))
	return nil
}

// loginInfo is what `cloud login --status` shows.
type loginInfo struct {
	Server    string    `json:"server"`
	Username  string    `json:"username"`
	Groups    []string  `json:"groups"`
	Email     string    `json:"email,omitempty"`
	ExpiresAt time.Time `json:"expiresAt"`
	Expired   bool      `json:"expired"`
	Renewable bool      `json:"renewable"`
}

// loginStatus prints who opts.Server knows this home as, and until when.
func (e *env) loginStatus(opts *loginOptions) error {
	server := opts.Server
	ent, err := opts.Tokens.Load(server)
	if errors.Is(err, cognito.ErrNotLoggedIn) {
		return &exitError{code: 1, err: fmt.Errorf("not logged in to %s: run cloud login --server %s", server, server)}
	}
	if err != nil {
		return err
	}
	cl := idClaims(ent.Tokens.IDToken)
	info := loginInfo{Server: server, Username: cl.Username, Groups: cl.Groups, Email: cl.Email,
		ExpiresAt: cl.ExpiresAt, Renewable: ent.Tokens.RefreshToken != ""}
	if info.Username == "" {
		info.Username = ent.Tokens.Username
	}
	if info.ExpiresAt.IsZero() {
		info.ExpiresAt = ent.Tokens.ExpiresAt
	}
	info.Expired = !info.ExpiresAt.IsZero() && opts.Now().After(info.ExpiresAt)
	return e.emit(info, func(w io.Writer) {
		fmt.Fprintf(w, "server    %s\n", info.Server)
		fmt.Fprintf(w, "user      %s\n", info.Username)
		if info.Email != "" {
			fmt.Fprintf(w, "email     %s\n", info.Email)
		}
		fmt.Fprintf(w, "groups    %s\n", orNone(info.Groups))
		state := "valid"
		if info.Expired {
			state = "expired"
		}
		if info.Renewable {
			state += ", renewed automatically"
		} else {
			state += ", not renewable: log in again when it expires"
		}
		fmt.Fprintf(w, "expires   %s (%s)\n", info.ExpiresAt.Local().Format(time.RFC3339), state)
	})
}

func orNone(groups []string) string {
	if len(groups) == 0 {
		return "none"
	}
	return strings.Join(groups, ", ")
}

// claims are the ID token's claims the CLI shows.
type claims struct {
	Username  string
	Email     string
	Groups    []string
	ExpiresAt time.Time
}

// idClaims reads an ID token's claims WITHOUT verifying it: only to show
// who the user is. The server verifies every token it is sent; nothing
// here decides anything on them.
func idClaims(jwt string) claims {
	var out claims
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return out
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return out
	}
	var raw struct {
		Username string   `json:"cognito:username"`
		Email    string   `json:"email"`
		Groups   []string `json:"cognito:groups"`
		Exp      int64    `json:"exp"`
	}
	if json.Unmarshal(b, &raw) != nil {
		return out
	}
	out.Username, out.Email, out.Groups = raw.Username, raw.Email, raw.Groups
	if raw.Exp > 0 {
		out.ExpiresAt = time.Unix(raw.Exp, 0)
	}
	return out
}

// isTerminal reports whether r is a terminal one can prompt on.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
