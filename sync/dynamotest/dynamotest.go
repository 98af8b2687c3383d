// Package dynamotest runs dynalite, a real DynamoDB-compatible server, for
// tests of the sync packages.
//
// The sync engine's tests talk to a real server rather than a fake of
// DynamoDB, so conditional expressions, pagination and the change-feed index
// are exercised as they behave on the wire. Amazon's DynamoDB Local cannot
// be used here (licence), so dynalite (npm, LevelDB underneath) stands in;
// tools/install/dynamodb-local.sh (`make dynamodb`) installs it. It has no
// transactions, no streams and no UpdateTimeToLive; see docs/sync.md.
//
// Each Start runs its own in-memory server on a free loopback port and
// stops it when the test ends, so tests never share state.
package dynamotest

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/internal/testtools"
	"github.com/cloudplatform/cloud/sync/remote"
)

// EnvPath names the environment variable that overrides where dynalite is.
const EnvPath = "CLOUD_DYNALITE"

// startTimeout bounds how long a server may take to answer after it is
// started. It is a readiness deadline, not an assertion: node starts
// dynalite in well under a second, but a loaded machine can be slow.
const startTimeout = 30 * time.Second

// Server is a running dynalite. Its methods are safe for concurrent use.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT; pass it as
	// remote.Config.Endpoint.
	Endpoint string

	t    testing.TB
	bin  string
	port int

	mu   sync.Mutex // guards proc (Restart replaces it)
	proc *testtools.Process
}

// Path returns the dynalite executable: $CLOUD_DYNALITE, else
// .tools/bin/dynalite in the repository that holds the working directory
// (found by walking up to the directory with go.mod). It returns an error
// telling how to install it when it is missing.
func Path() (string, error) {
	return testtools.Path(EnvPath, "dynalite", "tools/install/dynamodb-local.sh (make dynamodb)")
}

// Start runs a fresh in-memory dynalite on 127.0.0.1 and a free port, waits
// until it answers, and stops it when the test ends. Tables are created,
// updated and deleted at once (no CREATING state to wait out). It fails the
// test when dynalite is not installed or does not start.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin}
	var lastErr error
	// A free port found by listening on :0 may be taken by someone else
	// before dynalite binds it; try a few.
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
	t.Fatalf("start dynalite: %v", lastErr)
	return nil
}

func (s *Server) start() error {
	cmd := exec.Command(s.bin, "--host", "127.0.0.1", "--port", strconv.Itoa(s.port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	proc, err := testtools.StartProcess("dynalite on "+s.Endpoint, cmd, func() bool { return answers(s.Endpoint) }, startTimeout)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = proc
	s.mu.Unlock()
	return nil
}

// answers reports whether a DynamoDB server answers at endpoint: any HTTP
// response will do (dynalite answers an unsigned request with an error).
func answers(endpoint string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader("{}"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// Kill stops the server (its whole process group) and waits until its
// port is closed; its data is gone. Calling it twice is harmless. Tests use
// it to make the remote unreachable.
func (s *Server) Kill() {
	s.mu.Lock()
	proc := s.proc
	s.proc = nil
	s.mu.Unlock()
	proc.Kill()
}

// Restart kills the server and starts a new, empty one on the same port,
// as after a crash of an in-memory server. It fails the test when the new
// server does not start.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart dynalite: %v", err)
	}
}

var tableSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// TableName returns a table name unique in this process, derived from the
// test's name so a failing test's table is recognisable.
func TableName(t testing.TB) string {
	name := unsafeName.ReplaceAllString(t.Name(), "-")
	if len(name) > 200 {
		name = name[:200]
	}
	return fmt.Sprintf("t%d-%s", tableSeq.Add(1), name)
}

// Config returns a remote.Config for a fresh, not yet created table on the
// server, in region us-east-1 (dynalite ignores the region).
func (s *Server) Config(t testing.TB) remote.Config {
	return remote.Config{Table: TableName(t), Region: "us-east-1", Endpoint: s.Endpoint}
}

// NewTable opens a fresh table on the server and creates it; opts are
// passed to remote.Open. It fails the test on error.
func (s *Server) NewTable(t testing.TB, opts ...remote.Option) *remote.Table {
	t.Helper()
	return CreateTable(t, s.Config(t), opts...)
}

// CreateTable opens the table of cfg and creates it; opts are passed to
// remote.Open. It fails the test on error. Use it to reach the server
// through a proxy (cfg.Endpoint set to the proxy's URL).
func CreateTable(t testing.TB, cfg remote.Config, opts ...remote.Option) *remote.Table {
	t.Helper()
	ctx := context.Background()
	tbl, err := remote.Open(ctx, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	return tbl
}
