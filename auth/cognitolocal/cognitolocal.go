// Package cognitolocal runs cognito-local, a real Cognito user pool
// emulator, for tests of the auth packages.
//
// The auth tests sign in over the wire against a server that speaks the
// Cognito Identity Provider API and signs real RS256 tokens, rather than
// against a fake, so request shapes, error codes and token claims are
// exercised as a client sees them. tools/install/cognito-local.sh
// (`make cognito`) installs it (npm, cognito-local 5.3.0).
//
// Each Start runs its own server on a free loopback port, with its state in
// a temporary directory, and stops it when the test ends, so tests never
// share state.
//
// How cognito-local is run, and what its tokens look like (5.3.0):
//
//   - It reads PORT and HOST from the environment and .cognito/config.json
//     relative to its working directory, and keeps its pools under
//     .cognito/db there. Start writes that config file in t.TempDir() and
//     runs the server in that directory.
//   - Its tokens' iss is TokenConfig.IssuerDomain + "/" + poolID; Start sets
//     IssuerDomain to Endpoint, so iss == Endpoint + "/" + poolID, the same
//     shape as AWS's https://cognito-idp.REGION.amazonaws.com/POOL_ID.
//   - It serves the JWKS at /POOL_ID/.well-known/jwks.json (any pool ID, one
//     key: RS256, kid "CognitoLocal", shipped in the npm package, so its
//     tokens prove nothing outside tests). Its
//     /POOL_ID/.well-known/openid-configuration is hard-wired to
//     http://localhost:9229 and must not be used for discovery.
//   - Its default config makes every pool use e-mail addresses as
//     usernames (a username then becomes the user's sub); Start turns that
//     off, so users sign in with the plain names CreateUser gives them.
//   - InitiateAuth answers without ExpiresIn and TokenType, and a wrong
//     password is InvalidPasswordException (AWS says
//     NotAuthorizedException); a refresh returns no new refresh token.
package cognitolocal

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/cloudplatform/cloud/internal/testtools"
)

// EnvPath names the environment variable that overrides where cognito-local
// is.
const EnvPath = "CLOUD_COGNITO_LOCAL"

// Region is the region clients of the server are configured with.
// cognito-local ignores it (its pool IDs all start with "local_"), but the
// SDK needs one to build a request.
const Region = "us-east-1"

// Groups are the groups CreatePool creates in every pool: the roles the
// server maps Cognito groups to.
var Groups = []string{"admin", "deployer", "viewer"}

// startTimeout bounds how long a server may take to answer after it is
// started. It is a readiness deadline, not an assertion: node starts
// cognito-local in one to two seconds, but a loaded machine can be slow.
const startTimeout = 30 * time.Second

// Server is a running cognito-local. Its methods are safe for concurrent
// use.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT; pass it as
	// the SDK's BaseEndpoint (or cognito.Client.Endpoint).
	Endpoint string

	bin  string
	dir  string // working directory: .cognito/config.json and .cognito/db
	port int

	mu   sync.Mutex // guards proc (Restart replaces it)
	proc *testtools.Process
}

// Pool is a user pool on the server with one app client, and what a token
// verifier needs to check the tokens the server issues for it.
type Pool struct {
	// ID is the user pool's ID, "local_" and eight letters or digits.
	ID string
	// ClientID is the app client users sign in through; it is the aud of
	// ID tokens and the client_id of access tokens.
	ClientID string
	// Region is the region to configure clients with (see Region).
	Region string
	// Issuer is the iss of the pool's tokens: Endpoint + "/" + ID.
	Issuer string
	// JWKSURL serves the key the pool's tokens are signed with:
	// Issuer + "/.well-known/jwks.json", as on AWS.
	JWKSURL string
}

// Path returns the cognito-local executable: $CLOUD_COGNITO_LOCAL, else
// .tools/bin/cognito-local in the repository that holds the working
// directory (found by walking up to the directory with go.mod). It returns
// an error telling how to install it when it is missing.
func Path() (string, error) {
	return testtools.Path(EnvPath, "cognito-local", "tools/install/cognito-local.sh (make cognito)")
}

// Start runs a fresh cognito-local on 127.0.0.1 and a free port, with its
// state in a temporary directory, waits until it answers, and stops it when
// the test ends. It fails the test when cognito-local is not installed or
// does not start: like dynamotest, it never skips, so a missing tool cannot
// pass a test run silently.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{bin: bin, dir: t.TempDir()}
	var lastErr error
	// A free port found by listening on :0 may be taken by someone else
	// before cognito-local binds it; try a few.
	for range 3 {
		s.port, err = testtools.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(s.port)
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("start cognito-local: %v", lastErr)
	return nil
}

// config is the part of cognito-local's .cognito/config.json Start sets;
// the file is merged over the server's defaults.
type config struct {
	UserPoolDefaults struct {
		// UsernameAttributes is empty rather than the default ["email"], so
		// usernames are plain names, not e-mail addresses.
		UsernameAttributes []string `json:"UsernameAttributes"`
	} `json:"UserPoolDefaults"`
	TokenConfig struct {
		// IssuerDomain prefixes every token's iss; the default is
		// http://HOST:PORT, spelled out here so iss never depends on how
		// the environment is read.
		IssuerDomain string `json:"IssuerDomain"`
	} `json:"TokenConfig"`
	ServerConfig struct {
		Hostname string `json:"hostname"`
		Port     int    `json:"port"`
	} `json:"ServerConfig"`
}

func (s *Server) start() error {
	var cfg config
	cfg.UserPoolDefaults.UsernameAttributes = []string{}
	cfg.TokenConfig.IssuerDomain = s.Endpoint
	cfg.ServerConfig.Hostname = "127.0.0.1"
	cfg.ServerConfig.Port = s.port
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(s.dir, ".cognito"), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.dir, ".cognito", "config.json"), b, 0o600); err != nil {
		return err
	}

	cmd := exec.Command(s.bin)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(),
		"PORT="+strconv.Itoa(s.port), "HOST=127.0.0.1",
		// Its debug log and development mode would flood the output kept
		// for error messages.
		"DEBUG=", "COGNITO_LOCAL_DEVMODE=",
		// The Lambda and KMS clients it builds use the v2 JS SDK, which
		// prints an end-of-support notice on every start.
		"AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1")
	proc, err := testtools.StartProcess("cognito-local on "+s.Endpoint, cmd, func() bool { return answers(s.Endpoint) }, startTimeout)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = proc
	s.mu.Unlock()
	return nil
}

// answers reports whether cognito-local answers its health check at
// endpoint.
func answers(endpoint string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Kill stops the server (its whole process group) and waits until its
// port is closed. Calling it twice is harmless. Tests use it to make
// Cognito unreachable.
func (s *Server) Kill() {
	s.mu.Lock()
	proc := s.proc
	s.proc = nil
	s.mu.Unlock()
	proc.Kill()
}

// Client returns an admin client of the server: static dummy credentials
// (cognito-local checks no signature, but the admin operations are signed
// on AWS and the SDK wants something to sign with), region Region.
func (s *Server) Client(t testing.TB) *cip.Client {
	t.Helper()
	return cip.New(cip.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// CreatePool creates a user pool named name with one public app client
// (no secret) that allows USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH, and
// the groups in Groups. Tokens last as long as AWS's defaults: an hour for
// access and ID tokens, 30 days for refresh tokens. It fails the test on
// error.
func (s *Server) CreatePool(t testing.TB, name string) Pool {
	t.Helper()
	ctx := context.Background()
	c := s.Client(t)
	pool, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(name)})
	if err != nil {
		t.Fatalf("create user pool %s: %v", name, err)
	}
	id := aws.ToString(pool.UserPool.Id)
	client, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(id),
		ClientName: aws.String(name + "-cli"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{
			types.ExplicitAuthFlowsTypeAllowUserPasswordAuth,
			types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth,
		},
		PreventUserExistenceErrors: types.PreventUserExistenceErrorTypesEnabled,
		AccessTokenValidity:        aws.Int32(60),
		IdTokenValidity:            aws.Int32(60),
		RefreshTokenValidity:       30,
		TokenValidityUnits: &types.TokenValidityUnitsType{
			AccessToken:  types.TimeUnitsTypeMinutes,
			IdToken:      types.TimeUnitsTypeMinutes,
			RefreshToken: types.TimeUnitsTypeDays,
		},
	})
	if err != nil {
		t.Fatalf("create user pool client in %s: %v", id, err)
	}
	for _, g := range Groups {
		if _, err := c.CreateGroup(ctx, &cip.CreateGroupInput{
			UserPoolId: aws.String(id),
			GroupName:  aws.String(g),
		}); err != nil {
			t.Fatalf("create group %s in %s: %v", g, id, err)
		}
	}
	issuer := s.Endpoint + "/" + id
	return Pool{
		ID:       id,
		ClientID: aws.ToString(client.UserPoolClient.ClientId),
		Region:   Region,
		Issuer:   issuer,
		JWKSURL:  issuer + "/.well-known/jwks.json",
	}
}

// CreateUser creates a confirmed user in p with a permanent password, so
// it can sign in at once without a NEW_PASSWORD_REQUIRED challenge, and
// adds it to groups. No welcome message is sent. It fails the test on
// error.
func (s *Server) CreateUser(t testing.TB, p Pool, username, password string, groups ...string) {
	t.Helper()
	ctx := context.Background()
	c := s.Client(t)
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:    aws.String(p.ID),
		Username:      aws.String(username),
		MessageAction: types.MessageActionTypeSuppress,
	}); err != nil {
		t.Fatalf("create user %s in %s: %v", username, p.ID, err)
	}
	if _, err := c.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(p.ID),
		Username:   aws.String(username),
		Password:   aws.String(password),
		Permanent:  true,
	}); err != nil {
		t.Fatalf("set password of %s in %s: %v", username, p.ID, err)
	}
	for _, g := range groups {
		if _, err := c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
			UserPoolId: aws.String(p.ID),
			Username:   aws.String(username),
			GroupName:  aws.String(g),
		}); err != nil {
			t.Fatalf("add %s to group %s in %s: %v", username, g, p.ID, err)
		}
	}
}
