package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/auth"
	"github.com/cloudplatform/cloud/auth/cognito"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/server"
	"github.com/urfave/cli/v2"
)

// The validate, registry, sync, serve, login and monitor commands tested
// twice, as in commands_internal_test.go: argv → options through runF,
// and options → output with buffers against a real store (no server, no
// AWS).

// optionsCase is one argv and the options it parses to; want nil is a
// usage error.
type optionsCase[T any] struct {
	argv []string
	want *T
}

// checkOptions parses each case with the command newCmd builds and
// compares the options after clear has checked and zeroed the
// dependencies (functions DeepEqual cannot compare).
func checkOptions[T any](t *testing.T, what string, newCmd func(runF func(context.Context, *T) error) *cli.Command, clear func(*T) bool, cases []optionsCase[T]) {
	t.Helper()
	for _, tc := range cases {
		var got *T
		err := parse(t, newCmd(capture(&got)), tc.argv...)
		if tc.want == nil {
			wantUsage(t, what, tc.argv, err, got)
			continue
		}
		if err != nil || got == nil {
			t.Errorf("%s %v: %v", what, tc.argv, err)
			continue
		}
		if !clear(got) {
			t.Errorf("%s %v: a dependency is missing: %+v", what, tc.argv, got)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v: options %+v, want %+v", what, tc.argv, got, tc.want)
		}
	}
}

// noApp is an App that fails the test: the run must not open the store.
func noApp(t *testing.T) func() (*app.App, error) {
	return func() (*app.App, error) {
		t.Helper()
		t.Error("the store was opened")
		return nil, errors.New("no store")
	}
}

func ptr[T any](v T) *T { return &v }

func TestValidateCommands_Options(t *testing.T) {
	e := &env{}
	checkOptions(t, "validate deployment", func(f func(context.Context, *validateDeploymentOptions) error) *cli.Command {
		return validateDeploymentCommand(e, f)
	}, func(o *validateDeploymentOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[validateDeploymentOptions]{
		{[]string{"D1BRV40"}, &validateDeploymentOptions{ID: "D1BRV40"}},
		{[]string{"D1BRV40", "-e", "prod"}, &validateDeploymentOptions{ID: "D1BRV40", Env: "prod"}},
		{[]string{}, nil},
		{[]string{"D1", "D2"}, nil},
		{[]string{"D1", "--strict"}, nil},
	})
	checkOptions(t, "validate dependencies", func(f func(context.Context, *validateDependenciesOptions) error) *cli.Command {
		return validateDependenciesCommand(e, f)
	}, func(o *validateDependenciesOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[validateDependenciesOptions]{
		{[]string{"D1BRV40"}, &validateDependenciesOptions{ID: "D1BRV40"}},
		{[]string{}, nil},
		{[]string{"D1", "D2"}, nil},
		{[]string{"D1", "-e", "dev"}, nil},
	})
	t.Setenv("AWS_PROFILE", "")
	checkOptions(t, "validate aws-access", func(f func(context.Context, *validateAWSAccessOptions) error) *cli.Command {
		return validateAWSAccessCommand(e, f)
	}, func(o *validateAWSAccessOptions) bool { ok := o.Check != nil; o.Check = nil; return ok }, []optionsCase[validateAWSAccessOptions]{
		{[]string{}, &validateAWSAccessOptions{Timeout: 10 * time.Second}},
		{[]string{"--profile", "prod", "--timeout", "2s"}, &validateAWSAccessOptions{Profile: "prod", Timeout: 2 * time.Second}},
		{[]string{"--timeout", "soon"}, nil},
		{[]string{"extra"}, nil},
	})
	checkOptions(t, "validate pulumi-access", func(f func(context.Context, *validatePulumiAccessOptions) error) *cli.Command {
		return validatePulumiAccessCommand(e, f)
	}, func(o *validatePulumiAccessOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[validatePulumiAccessOptions]{
		{[]string{}, &validatePulumiAccessOptions{}},
		{[]string{"D1BRV40"}, &validatePulumiAccessOptions{ID: "D1BRV40"}},
		{[]string{"D1", "D2"}, nil},
	})
}

// TestValidateRun: the demo deployment's findings of one environment, its
// graph of five layers in every environment; an unknown deployment fails; the
// AWS identity prints as a table or JSON.
func TestValidateRun(t *testing.T) {
	a, id := testApp(t)
	ctx := context.Background()
	open := func() (*app.App, error) { return a, nil }
	// In a test binary the built-in programs cannot run (they are the
	// cloud binary's), so each stack's program is a finding: printed one
	// a line, exit 1 with nothing more said.
	for _, format := range []string{"table", "json"} {
		e, out, _ := testEnv(false, format)
		err := e.validateDeploymentRun(ctx, &validateDeploymentOptions{App: open, ID: id, Env: "dev"})
		if exitCode(err) != 1 || !errors.Is(err, errSilent) {
			t.Errorf("-o %s: validate deployment: exit %d (%v), want 1 and silent", format, exitCode(err), err)
		}
		want := `error: dev: stacks.network.program: stack program "demo-network" not found`
		if format == "json" {
			want = `"stacks.network.program"`
		}
		if !strings.Contains(out.String(), want) || strings.Contains(out.String(), "stage") {
			t.Errorf("-o %s: validate deployment -e dev:\n%s\nwant %q", format, out, want)
		}
	}
	e, out, _ := testEnv(false, "table")
	if err := e.validateDependenciesRun(ctx, &validateDependenciesOptions{App: open, ID: id}); err != nil {
		t.Fatal(err)
	}
	layers := "ok, 5 layers: network | security | database storage | app | monitoring\n"
	if want := "dev: " + layers + "stage: " + layers + "prod: " + layers; out.String() != want {
		t.Errorf("validate dependencies:\n%s\nwant\n%s", out, want)
	}
	if err := e.validateDeploymentRun(ctx, &validateDeploymentOptions{App: open, ID: "D0THER0"}); exitCode(err) == 0 {
		t.Errorf("validate of an unknown deployment: no error")
	}

	check := func(_ context.Context, profile string, timeout time.Duration) (*app.AWSIdentity, error) {
		if profile != "prod" || timeout != time.Second {
			t.Errorf("aws-access checked profile %q, timeout %s", profile, timeout)
		}
		return &app.AWSIdentity{Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/alice"}, nil
	}
	for _, format := range []string{"table", "json"} {
		e, out, _ := testEnv(false, format)
		if err := e.validateAWSAccessRun(ctx, &validateAWSAccessOptions{Check: check, Profile: "prod", Timeout: time.Second}); err != nil {
			t.Fatal(err)
		}
		want := "ACCOUNT       ARN                                   REGION\n123456789012  arn:aws:iam::123456789012:user/alice  -\n"
		if format == "json" {
			want = `"account": "123456789012"`
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("aws-access -o %s:\n%s\nwant %q", format, out, want)
		}
	}
	fail := func(context.Context, string, time.Duration) (*app.AWSIdentity, error) {
		return nil, errors.New("no credentials")
	}
	if err := e.validateAWSAccessRun(ctx, &validateAWSAccessOptions{Check: fail}); err == nil || err.Error() != "no credentials" {
		t.Errorf("aws-access without credentials: %v", err)
	}
}

func TestRegistryCommands_Options(t *testing.T) {
	e := &env{}
	checkOptions(t, "register-stack", func(f func(context.Context, *registerStackOptions) error) *cli.Command {
		return registerStackCommand(e, f)
	}, func(o *registerStackOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[registerStackOptions]{
		{[]string{"network"}, &registerStackOptions{Source: "network"}},
		{[]string{"./bin/stacks/cache", "--dependencies", "network, security"}, &registerStackOptions{Source: "./bin/stacks/cache", Dependencies: &[]string{"network", "security"}}},
		{[]string{"./infra/web", "--name", "web", "--dependencies", ""}, &registerStackOptions{Source: "./infra/web", Name: "web", Dependencies: &[]string{}}},
		{[]string{}, nil},
		{[]string{"a", "b"}, nil},
		{[]string{"a", "--name"}, nil},
	})
	checkOptions(t, "update-stack", func(f func(context.Context, *updateStackOptions) error) *cli.Command {
		return updateStackCommand(e, f)
	}, func(o *updateStackOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[updateStackOptions]{
		{[]string{"app", "--description", "web", "--priority", "10"}, &updateStackOptions{Name: "app", Description: ptr("web"), Priority: ptr(10)}},
		{[]string{"database", "--dependencies", ""}, &updateStackOptions{Name: "database", Dependencies: &[]string{}}},
		{[]string{"app"}, nil},
		{[]string{"app", "--priority", "high"}, nil},
		{[]string{}, nil},
		{[]string{"a", "b", "--description", "x"}, nil},
	})
	checkOptions(t, "unregister-stack", func(f func(context.Context, *unregisterStackOptions) error) *cli.Command {
		return unregisterStackCommand(e, f)
	}, func(o *unregisterStackOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[unregisterStackOptions]{
		{[]string{"cache"}, &unregisterStackOptions{Name: "cache"}},
		{[]string{"cache", "--force"}, &unregisterStackOptions{Name: "cache", Force: true}},
		{[]string{}, nil},
		{[]string{"a", "b"}, nil},
		{[]string{"cache", "--force=maybe"}, nil},
	})
	checkOptions(t, "list-stacks", func(f func(context.Context, *listStacksOptions) error) *cli.Command {
		return listStacksCommand(e, f)
	}, func(o *listStacksOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[listStacksOptions]{
		{[]string{}, &listStacksOptions{}},
		{[]string{"extra"}, nil},
		{[]string{"--all"}, nil},
	})
	checkOptions(t, "validate-stack", func(f func(context.Context, *validateStackOptions) error) *cli.Command {
		return validateStackCommand(e, f)
	}, func(o *validateStackOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[validateStackOptions]{
		{[]string{"database"}, &validateStackOptions{Name: "database"}},
		{[]string{"--all", "--strict"}, &validateStackOptions{All: true, Strict: true}},
		{[]string{}, nil},
		{[]string{"database", "--all"}, nil},
		{[]string{"a", "b"}, nil},
	})
}

// TestRegistryRun: a new home lists no stacks (a hint on the table, an
// empty list as JSON); unregister-stack without --yes and no terminal is
// refused before the store is opened; updating or validating a stack
// never registered fails.
func TestRegistryRun(t *testing.T) {
	a, _ := testApp(t)
	ctx := context.Background()
	open := func() (*app.App, error) { return a, nil }
	for _, tty := range []bool{false, true} {
		e, out, _ := testEnv(tty, "table")
		if err := e.listStacksRun(ctx, &listStacksOptions{App: open}); err != nil {
			t.Fatal(err)
		}
		if want := "NAME  VERSION  DEPENDENCIES  INPUTS  OUTPUTS  SOURCE\n(no stacks registered: cloud register-stack NAME)\n"; out.String() != want {
			t.Errorf("tty %v: list-stacks of a new home:\n%q\nwant %q", tty, out, want)
		}
	}
	e, out, _ := testEnv(false, "json")
	if err := e.listStacksRun(ctx, &listStacksOptions{App: open}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "{\n  \"items\": [],\n  \"totalCount\": 0\n}" {
		t.Errorf("list-stacks -o json of a new home: %q", got)
	}

	e, _, errb := testEnv(false, "table")
	if err := e.unregisterStackRun(ctx, &unregisterStackOptions{App: noApp(t), Name: "cache"}); exitCode(err) != 2 {
		t.Errorf("unregister-stack without --yes: exit %d (%v), want 2", exitCode(err), err)
	}
	if errb.Len() != 0 {
		t.Errorf("unregister-stack refused: stderr %q", errb)
	}
	if err := e.updateStackRun(ctx, &updateStackOptions{App: open, Name: "nosuch", Priority: ptr(1)}); exitCode(err) == 0 {
		t.Errorf("update-stack of a stack never registered: no error")
	}
	if err := e.validateStackRun(ctx, &validateStackOptions{App: open, Name: "nosuch"}); exitCode(err) == 0 {
		t.Errorf("validate-stack of a stack never registered: no error")
	}
	e, out, _ = testEnv(false, "table")
	if err := e.validateStackRun(ctx, &validateStackOptions{App: open, All: true}); err != nil {
		t.Fatal(err)
	}
	if want := "(no stacks registered)\n"; out.String() != want {
		t.Errorf("validate-stack --all of a new home: %q, want %q", out, want)
	}
}

func TestSyncCommands_Options(t *testing.T) {
	e := &env{}
	appOnly := func(o *syncOptions) bool { ok := o.App != nil; o.App = nil; return ok }
	for _, mode := range []app.SyncMode{app.SyncBoth, app.SyncPush, app.SyncPull, app.SyncReconcile} {
		newCmd := func(f func(context.Context, *syncOptions) error) *cli.Command {
			if mode == app.SyncBoth {
				return syncCommand(e, f)
			}
			return syncRunCommand(e, mode, "", "", f)
		}
		checkOptions(t, "sync "+string(mode), newCmd, appOnly, []optionsCase[syncOptions]{
			{[]string{}, &syncOptions{Mode: mode}},
			{[]string{"extra"}, nil},
			{[]string{"--all"}, nil},
		})
	}
	checkOptions(t, "sync configure", func(f func(context.Context, *syncConfigureOptions) error) *cli.Command {
		return syncConfigureCommand(e, f)
	}, func(o *syncConfigureOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[syncConfigureOptions]{
		{[]string{}, &syncConfigureOptions{}},
		{[]string{"--table", "cloud-platform", "--region", "eu-west-1", "--interval", "1m"},
			&syncConfigureOptions{Change: app.SyncConfigChange{Table: ptr("cloud-platform"), Region: ptr("eu-west-1"), Interval: ptr(time.Minute)}}},
		{[]string{"--endpoint", "", "--profile", "ops"}, &syncConfigureOptions{Change: app.SyncConfigChange{Endpoint: ptr(""), Profile: ptr("ops")}}},
		{[]string{"--interval", "often"}, nil},
		{[]string{"extra"}, nil},
	})
	for what, newCmd := range map[string]func(*env, func(context.Context, *syncTableOptions) error) *cli.Command{
		"sync init-table": syncInitTableCommand, "sync check": syncCheckCommand,
	} {
		checkOptions(t, what, func(f func(context.Context, *syncTableOptions) error) *cli.Command { return newCmd(e, f) },
			func(o *syncTableOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[syncTableOptions]{
				{[]string{}, &syncTableOptions{}},
				{[]string{"extra"}, nil},
			})
	}
	checkOptions(t, "sync status", func(f func(context.Context, *syncStatusOptions) error) *cli.Command {
		return syncStatusCommand(e, f)
	}, func(o *syncStatusOptions) bool {
		ok := o.App != nil && o.Now != nil
		o.App, o.Now = nil, nil
		return ok
	}, []optionsCase[syncStatusOptions]{
		{[]string{}, &syncStatusOptions{}},
		{[]string{"extra"}, nil},
	})
	checkOptions(t, "sync conflicts", func(f func(context.Context, *syncConflictsOptions) error) *cli.Command {
		return syncConflictsCommand(e, f)
	}, func(o *syncConflictsOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[syncConflictsOptions]{
		{[]string{}, &syncConflictsOptions{}},
		{[]string{"--all"}, &syncConflictsOptions{All: true}},
		{[]string{"extra"}, nil},
		{[]string{"--all=sometimes"}, nil},
	})
	checkOptions(t, "sync resolve", func(f func(context.Context, *syncResolveOptions) error) *cli.Command {
		return syncResolveCommand(e, f)
	}, func(o *syncResolveOptions) bool { ok := o.App != nil; o.App = nil; return ok }, []optionsCase[syncResolveOptions]{
		{[]string{"3f2a9c1b", "--keep", "winner"}, &syncResolveOptions{ID: "3f2a9c1b", Keep: "winner"}},
		{[]string{"--keep", "loser", "3f2a9c1b"}, &syncResolveOptions{ID: "3f2a9c1b", Keep: "loser"}},
		{[]string{"3f2a9c1b", "--keep", "both"}, nil},
		{[]string{"--keep", "winner"}, nil},
		{[]string{"a", "b", "--keep", "winner"}, nil},
	})
	// A missing required flag is urfave/cli's own error, before Action
	// (exit 1, as before options existed).
	var res *syncResolveOptions
	if err := parse(t, syncResolveCommand(e, capture(&res)), "3f2a9c1b"); err == nil || !strings.Contains(err.Error(), `Required flag "keep" not set`) || res != nil {
		t.Errorf("sync resolve without --keep: %v, ran with %+v", err, res)
	}
}

// TestSyncRun: without a configuration, configure says so and the
// commands that need one are usage errors that name the fix; configured
// (nothing contacted), configure prints the settings, status the local
// bookkeeping by a fixed clock, conflicts none, and resolving an unknown
// conflict fails.
func TestSyncRun(t *testing.T) {
	for _, v := range []string{"CLOUD_SYNC_TABLE", "CLOUD_SYNC_REGION", "CLOUD_SYNC_ENDPOINT", "CLOUD_SYNC_PROFILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	a, _ := testApp(t)
	ctx := context.Background()
	open := func() (*app.App, error) { return a, nil }
	now := func() time.Time { return fixedNow }
	file := a.SyncConfigFile()

	e, out, _ := testEnv(false, "table")
	if err := e.syncConfigureRun(ctx, &syncConfigureOptions{App: open}); err != nil {
		t.Fatal(err)
	}
	if want := "sync is not configured (" + file + ")\n"; out.String() != want {
		t.Errorf("configure of a new home: %q, want %q", out, want)
	}
	for what, run := range map[string]func() error{
		"sync":      func() error { return e.syncRun(ctx, &syncOptions{App: open, Mode: app.SyncBoth}) },
		"push":      func() error { return e.syncRun(ctx, &syncOptions{App: open, Mode: app.SyncPush}) },
		"status":    func() error { return e.syncStatusRun(ctx, &syncStatusOptions{App: open, Now: now}) },
		"conflicts": func() error { return e.syncConflictsRun(ctx, &syncConflictsOptions{App: open}) },
	} {
		if err := run(); exitCode(err) != 2 || !strings.Contains(err.Error(), "see cloud sync configure --help") {
			t.Errorf("%s unconfigured: exit %d (%v), want a usage error", what, exitCode(err), err)
		}
	}

	e, out, errb := testEnv(true, "table")
	ch := app.SyncConfigChange{Table: ptr("team"), Region: ptr("eu-west-1"), Endpoint: ptr("http://127.0.0.1:1")}
	if err := e.syncConfigureRun(ctx, &syncConfigureOptions{App: open, Change: ch}); err != nil {
		t.Fatal(err)
	}
	want := "table     team\nregion    eu-west-1\nendpoint  http://127.0.0.1:1\nprofile   (default credentials)\ninterval  30s\nfile      " + file + "\n"
	if out.String() != want || errb.String() != "saved "+file+"\n" {
		t.Errorf("configure:\nstdout %q\nwant   %q\nstderr %q", out, want, errb)
	}
	e, out, _ = testEnv(false, "json")
	if err := e.syncConfigureRun(ctx, &syncConfigureOptions{App: open}); err != nil {
		t.Fatal(err)
	}
	var cfg syncConfigJSON
	if err := json.Unmarshal(out.Bytes(), &cfg); err != nil || !cfg.Configured || cfg.Table != "team" || cfg.Interval != "30s" || cfg.File != file {
		t.Errorf("configure -o json (%v):\n%s", err, out)
	}

	for _, tty := range []bool{false, true} {
		e, out, _ = testEnv(tty, "table")
		if err := e.syncStatusRun(ctx, &syncStatusOptions{App: open, Now: now}); err != nil {
			t.Fatal(err)
		}
		got := ansi.Strip(out.String())
		for _, want := range []string{"table           team\n", "last push       never\n", "last pull       never\n", "conflicts       0 open\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("tty %v: status lacks %q:\n%s", tty, want, got)
			}
		}
	}
	e, out, _ = testEnv(false, "table")
	if err := e.syncConflictsRun(ctx, &syncConflictsOptions{App: open, All: true}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "no conflicts\n" {
		t.Errorf("conflicts: %q", out)
	}
	if err := e.syncResolveRun(ctx, &syncResolveOptions{App: open, ID: "3f2a9c1b", Keep: "winner"}); exitCode(err) != 1 || !strings.Contains(err.Error(), `no conflict "3f2a9c1b"`) {
		t.Errorf("resolve of an unknown conflict: exit %d (%v)", exitCode(err), err)
	}
}

// clearEnv keeps the developer's variables of names out of a test.
func clearEnv(t *testing.T, names ...string) {
	for _, v := range names {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

func TestServeCommand_Options(t *testing.T) {
	clearEnv(t, "CLOUD_LISTEN", "CLOUD_AUTH", "CLOUD_COGNITO_USER_POOL_ID", "CLOUD_COGNITO_REGION", "CLOUD_COGNITO_ISSUER",
		"CLOUD_COGNITO_CLIENT_IDS", "CLOUD_COGNITO_ENDPOINT", "CLOUD_CORS_ORIGINS")
	defaults := serveOptions{Listen: "127.0.0.1:8080", ShutdownGrace: 30 * time.Second, PingInterval: 15 * time.Second,
		InitTimeout: server.DefaultInitTimeout, Auth: serveAuthOptions{JWKSRefresh: auth.DefaultRefreshInterval}}
	with := func(f func(*serveOptions)) *serveOptions { o := defaults; f(&o); return &o }
	e, _, errb := testEnv(false, "table")
	checkOptions(t, "serve", func(f func(context.Context, *serveOptions) error) *cli.Command { return serveCommand(e, f) },
		func(o *serveOptions) bool {
			ok := o.App != nil && o.Logger != nil
			if o.Logger != nil {
				o.Logger.Info("parsed")
			}
			o.App, o.Logger = nil, nil
			return ok
		}, []optionsCase[serveOptions]{
			{[]string{}, &defaults},
			{[]string{"--listen", ":8443", "--shutdown-grace", "5s", "--ping-interval", "1s", "--ws-init-timeout", "2s", "--log-format", "json", "--log-level", "debug"},
				with(func(o *serveOptions) {
					o.Listen, o.ShutdownGrace, o.PingInterval, o.InitTimeout = ":8443", 5*time.Second, time.Second, 2*time.Second
				})},
			{[]string{"--auth", "cognito", "--cognito-user-pool-id", "eu-west-1_AbC123", "--cognito-client-id", "a", "--cognito-client-id", "b",
				"--cognito-region", "", "--jwks-refresh-interval", "1m"},
				with(func(o *serveOptions) {
					o.Auth = serveAuthOptions{Mode: ptr("cognito"), UserPoolID: ptr("eu-west-1_AbC123"), Region: ptr(""),
						ClientIDs: []string{"a", "b"}, JWKSRefresh: time.Minute}
				})},
			{[]string{"--cognito-from", "D1BRV40/prod", "--allow-unauthenticated", "--cognito-issuer", "https://idp", "--cognito-endpoint", "http://127.0.0.1:9229"},
				with(func(o *serveOptions) {
					o.Auth = serveAuthOptions{From: "D1BRV40/prod", AllowUnauthenticated: true, Issuer: ptr("https://idp"),
						Endpoint: ptr("http://127.0.0.1:9229"), JWKSRefresh: auth.DefaultRefreshInterval}
				})},
			{[]string{"--cors-origin", "https://a.example", "--trust-proxy", "--rate-limit", "2.5", "--burst", "7"},
				with(func(o *serveOptions) {
					o.Limits = server.Limits{CORSOrigins: []string{"https://a.example"}, TrustProxy: true, RatePerSecond: 2.5, Burst: 7}
				})},
			{[]string{"extra"}, nil},
			{[]string{"--log-format", "xml"}, nil},
			{[]string{"--log-level", "loud"}, nil},
			{[]string{"--shutdown-grace", "forever"}, nil},
			{[]string{"--burst", "many"}, nil},
		})
	// The second case logs as JSON, the others as text, on the env's stderr.
	if got := errb.String(); !strings.Contains(got, `"msg":"parsed"`) || !strings.Contains(got, "msg=parsed") {
		t.Errorf("serve's loggers wrote:\n%s", got)
	}
}

// TestServeRun: without authentication the server refuses an address other
// machines can reach before it listens; on loopback it serves, says where
// on stderr, and stops with its context.
func TestServeRun(t *testing.T) {
	clearEnv(t, "CLOUD_SYNC_TABLE", "CLOUD_SYNC_REGION", "CLOUD_SYNC_ENDPOINT", "CLOUD_SYNC_PROFILE")
	t.Setenv("GOGC", "100") // serveRun leaves the collector alone then
	a, _ := testApp(t)
	open := func() (*app.App, error) { return a, nil }
	e, out, errb := testEnv(false, "table")
	log := slog.New(slog.NewTextHandler(errb, nil))
	err := e.serveRun(context.Background(), &serveOptions{App: open, Logger: log, Listen: "0.0.0.0:0"})
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "refusing to serve without authentication on 0.0.0.0:0") || out.Len() != 0 {
		t.Errorf("serve on 0.0.0.0 without auth: exit %d (%v), want a usage error", exitCode(err), err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, out, errb = testEnv(false, "table")
	e.io.Err = &lineWriter{w: errb, line: cancel}
	err = e.serveRun(ctx, &serveOptions{App: open, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Listen: "127.0.0.1:0", ShutdownGrace: time.Second})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("serve stopped by its context: %v", err)
	}
	if got := errb.String(); !strings.HasPrefix(got, "serving on http://127.0.0.1:") || !strings.HasSuffix(got, "(dashboard /, GraphQL /graphql, REST /api/v1); Ctrl-C stops\n") || out.Len() != 0 {
		t.Errorf("serve: stdout %q, stderr %q", out, got)
	}
}

// lineWriter calls line after each write: serveRun's one status line
// stops the server in TestServeRun.
type lineWriter struct {
	w    io.Writer
	line func()
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.line()
	return n, err
}

func TestLoginCommands_Options(t *testing.T) {
	e := &env{home: "/h", serverURL: "https://global.example.com"}
	store := cognito.Store{Path: filepath.Join("/h", tokensFile)}
	checkOptions(t, "login", func(f func(context.Context, *loginOptions) error) *cli.Command { return loginCommand(e, f) },
		func(o *loginOptions) bool { ok := o.Now != nil; o.Now = nil; return ok }, []optionsCase[loginOptions]{
			{[]string{}, &loginOptions{Tokens: store, Server: "https://global.example.com"}},
			{[]string{"--server", "HTTPS://Cloud.Example.com:443", "-u", "alice", "--password-stdin"},
				&loginOptions{Tokens: store, Server: "https://cloud.example.com", Username: "alice", PasswordStdin: true}},
			{[]string{"--status"}, &loginOptions{Tokens: store, Server: "https://global.example.com", Status: true}},
			{[]string{"extra"}, nil},
			{[]string{"--server", "cloud.example.com"}, nil},
			{[]string{"--status=perhaps"}, nil},
		})
	checkOptions(t, "logout", func(f func(context.Context, *logoutOptions) error) *cli.Command { return logoutCommand(e, f) },
		func(*logoutOptions) bool { return true }, []optionsCase[logoutOptions]{
			{[]string{}, &logoutOptions{Tokens: store, Server: "https://global.example.com"}},
			{[]string{"--server", "http://127.0.0.1:8080/"}, &logoutOptions{Tokens: store, Server: "http://127.0.0.1:8080"}},
			{[]string{"extra"}, nil},
			{[]string{"--server", "ftp://x"}, nil},
		})
	// No server at all is a usage error that says where to give one.
	var got *loginOptions
	err := parse(t, loginCommand(&env{home: "/h"}, capture(&got)))
	wantUsage(t, "login without a server", nil, err, got)
	if err == nil || !strings.Contains(err.Error(), "give the server with --server URL") {
		t.Errorf("login without a server: %v", err)
	}
}

// TestLoginRun: a server without authentication needs no login; one with
// Cognito cannot be logged in to without a terminal unless the username
// and the password are given; --status shows the kept login by a fixed
// clock; logout forgets it even when Cognito cannot be reached.
func TestLoginRun(t *testing.T) {
	mode := "none"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/auth/config" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"mode":%q,"cognito":{"region":"eu-west-1","clientId":"app","endpoint":"http://127.0.0.1:1"}}`, mode)
	}))
	defer srv.Close()
	key, err := cognito.ServerKey(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	store := cognito.Store{Path: filepath.Join(t.TempDir(), tokensFile)}
	now := func() time.Time { return fixedNow }
	ctx := context.Background()

	e, out, errb := testEnv(false, "table")
	if err := e.loginRun(ctx, &loginOptions{Tokens: store, Now: now, Server: key}); err != nil {
		t.Fatal(err)
	}
	if want := key + " runs without authentication: it needs no login\n"; errb.String() != want || out.Len() != 0 {
		t.Errorf("login to a server without auth: stdout %q, stderr %q, want %q", out, errb, want)
	}
	mode = "cognito"
	for _, tc := range []struct {
		opts loginOptions
		want string
	}{
		{loginOptions{}, "give --username"},
		{loginOptions{PasswordStdin: true}, "give --username"},
		{loginOptions{Username: "alice"}, "no terminal to ask for the password on"},
		{loginOptions{Username: "alice", PasswordStdin: true}, "no password on standard input"},
	} {
		o := tc.opts
		o.Tokens, o.Now, o.Server = store, now, key
		e, _, _ := testEnv(false, "table")
		if err := e.loginRun(ctx, &o); exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("login %+v: exit %d (%v), want a usage error with %q", tc.opts, exitCode(err), err, tc.want)
		}
	}

	e, _, _ = testEnv(false, "table")
	if err := e.loginRun(ctx, &loginOptions{Tokens: store, Now: now, Server: key, Status: true}); exitCode(err) != 1 || !strings.Contains(err.Error(), "not logged in to "+key) {
		t.Errorf("login --status when not logged in: exit %d (%v)", exitCode(err), err)
	}
	exp := fixedNow.Add(time.Hour)
	claims, _ := json.Marshal(map[string]any{"cognito:username": "alice", "email": "alice@example.com", "cognito:groups": []string{"admin"}, "exp": exp.Unix()})
	jwt := "e30." + base64.RawURLEncoding.EncodeToString(claims) + ".sig"
	if err := store.Save(cognito.Entry{Server: key, Client: cognito.Client{Region: "eu-west-1", ClientID: "app", Endpoint: "http://127.0.0.1:1"},
		Tokens: cognito.Tokens{IDToken: jwt, RefreshToken: "refresh", ExpiresAt: exp}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now   time.Time
		state string
	}{{fixedNow, "valid"}, {exp.Add(time.Minute), "expired"}} {
		e, out, _ := testEnv(false, "table")
		if err := e.loginRun(ctx, &loginOptions{Tokens: store, Now: func() time.Time { return tc.now }, Server: key, Status: true}); err != nil {
			t.Fatal(err)
		}
		want := "server    " + key + "\nuser      alice\nemail     alice@example.com\ngroups    admin\nexpires   " +
			exp.Local().Format(time.RFC3339) + " (" + tc.state + ", renewed automatically)\n"
		if out.String() != want {
			t.Errorf("login --status at %s:\n%s\nwant\n%s", tc.now, out, want)
		}
	}

	e, _, errb = testEnv(false, "table")
	if err := e.logoutRun(ctx, &logoutOptions{Tokens: store, Server: key}); err != nil {
		t.Fatal(err)
	}
	if got := errb.String(); !strings.HasPrefix(got, "warning: ") || !strings.HasSuffix(got, "the refresh token lapses on its own\nlogged out of "+key+"\n") {
		t.Errorf("logout with Cognito unreachable: stderr %q", got)
	}
	if _, err := store.Load(key); !errors.Is(err, cognito.ErrNotLoggedIn) {
		t.Errorf("after logout: %v, want not logged in", err)
	}
	e, _, errb = testEnv(false, "table")
	if err := e.logoutRun(ctx, &logoutOptions{Tokens: store, Server: key}); err != nil || errb.String() != "not logged in to "+key+"\n" {
		t.Errorf("logout when not logged in: %v, stderr %q", err, errb)
	}
}

func TestMonitorCommand_Options(t *testing.T) {
	e := &env{}
	checkOptions(t, "monitor", func(f func(context.Context, *monitorOptions) error) *cli.Command { return monitorCommand(e, f) },
		func(o *monitorOptions) bool { ok := o.Client != nil; o.Client = nil; return ok }, []optionsCase[monitorOptions]{
			{[]string{}, &monitorOptions{}},
			{[]string{"D1BRV40", "-e", "dev"}, &monitorOptions{ID: "D1BRV40", Env: "dev"}},
			{[]string{"--plain", "--operation", "op-1", "--server", "http://127.0.0.1:8080", "--give-up", "0"}, &monitorOptions{Operation: "op-1", Plain: true}},
			{[]string{"D1", "D2"}, nil},
			{[]string{"--give-up", "never"}, nil},
			{[]string{"--plain=often"}, nil},
		})
}

// TestMonitorRun: off a terminal, monitor without a deployment lists the
// deployments and asks for one; an operation of another deployment is
// refused; a finished operation is followed to its end, one line per
// event, and its result is the exit status.
func TestMonitorRun(t *testing.T) {
	a, id := testApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := client.NewLocal(a)
	get := func() (client.Client, error) { return cl, nil }

	for _, tty := range []bool{false, true} {
		// On a terminal too: stdout is a buffer, so never the full screen.
		e, out, _ := testEnv(tty, "table")
		if err := e.monitorRun(ctx, &monitorOptions{Client: get}); exitCode(err) != 2 || !strings.Contains(err.Error(), "give a DEPLOYMENT_ID, or --operation") {
			t.Errorf("tty %v: monitor without a deployment: exit %d (%v)", tty, exitCode(err), err)
		}
		if want := id + "\tinitialized\n"; ansi.Strip(out.String()) != want {
			t.Errorf("tty %v: monitor without a deployment printed %q, want %q", tty, out, want)
		}
	}

	op, err := a.Lock(ctx, id, "dev", "freeze")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Unlock(ctx, id, "dev", false); err != nil {
		t.Fatal(err)
	}
	e, _, _ := testEnv(false, "table")
	if err := e.monitorRun(ctx, &monitorOptions{Client: get, ID: "D0THER0", Operation: op.ID}); exitCode(err) != 2 || !strings.Contains(err.Error(), "belongs to deployment "+id) {
		t.Errorf("monitor of another deployment's operation: exit %d (%v)", exitCode(err), err)
	}
	e, out, _ := testEnv(false, "table")
	if err := e.monitorRun(ctx, &monitorOptions{Client: get, Operation: op.ID, Plain: true}); err != nil {
		t.Fatal(err)
	}
	clock := human.Clock(fixedNow)
	want := clock + " operation " + op.ID + " lock running\n" +
		clock + " operation " + op.ID + " lock succeeded in -: 0/0 stacks ok, 0 failed, 0 skipped\n"
	if out.String() != want {
		t.Errorf("monitor --plain --operation of a finished lock:\n%s\nwant\n%s", out, want)
	}
	e, out, _ = testEnv(false, "json")
	if err := e.monitorRun(ctx, &monitorOptions{Client: get, Operation: op.ID}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var ev map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &ev) != nil {
		t.Errorf("monitor -o json --operation: want two JSON lines, got\n%s", out)
	}
}
