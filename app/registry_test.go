package app_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cloudplatform/cloud/app"
)

var (
	registryBinsOnce sync.Once
	registryBins     string
	registryBinsErr  error
)

// registryStacks builds, once per test binary, every example stack and the
// deliberately broken stacks of testdata/badstacks into one directory.
func registryStacks(t *testing.T) string {
	t.Helper()
	registryBinsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cloud-registry-test-")
		if err != nil {
			registryBinsErr = err
			return
		}
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
			"./stacks/examples/cmd/...", "./app/testdata/badstacks/...")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			registryBinsErr = errors.New(string(out))
			return
		}
		registryBins = dir
	})
	if registryBinsErr != nil {
		t.Fatalf("build stacks: %v", registryBinsErr)
	}
	return registryBins
}

func openRegistryApp(t *testing.T) *app.App {
	t.Helper()
	a, err := app.Open(context.Background(), app.Config{Home: t.TempDir(),
		StacksDirs: []string{registryStacks(t)}, Pulumi: pulumiPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func messages(fs []app.StackFinding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Kind+" "+f.Name+": "+f.Message)
	}
	return out
}

func TestValidateStackReportsBrokenStacks(t *testing.T) {
	ctx := context.Background()
	a := openRegistryApp(t)
	cases := []struct {
		name             string
		errors, warnings []string
	}{
		{"undeclaredinput", []string{`input vpcId: input "vpcId" is read but not declared`}, []string{}},
		{"missingoutput", []string{`output arn: output "arn" is declared but not exported`}, []string{}},
		{"wrongtype", []string{}, []string{`output id: output "id" is declared string but exported as number`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := a.RegisterStack(ctx, c.name, "", nil, false); err != nil {
				t.Fatal(err)
			}
			v, err := a.ValidateStack(ctx, c.name, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := messages(v.Errors); !reflect.DeepEqual(got, c.errors) {
				t.Errorf("errors = %q, want %q", got, c.errors)
			}
			if got := messages(v.Warnings); !reflect.DeepEqual(got, c.warnings) {
				t.Errorf("warnings = %q, want %q", got, c.warnings)
			}
			strict, err := a.ValidateStack(ctx, c.name, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(strict.Warnings) != 0 || len(strict.Errors) != len(c.errors)+len(c.warnings) {
				t.Errorf("strict: errors %q warnings %q, want every finding an error", messages(strict.Errors), messages(strict.Warnings))
			}
		})
	}
}

func TestValidateExampleStacksHaveNoErrors(t *testing.T) {
	ctx := context.Background()
	a := openRegistryApp(t)
	for _, name := range []string{"demo-network", "demo-security", "demo-database", "demo-storage", "demo-app", "demo-monitoring", "probe"} {
		if _, err := a.RegisterStack(ctx, name, "", nil, false); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := a.ValidateAllStacks(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 7 {
		t.Fatalf("validated %d stacks, want 7", len(vs))
	}
	for _, v := range vs {
		if !v.OK() {
			t.Errorf("%s: errors %q", v.Stack, messages(v.Errors))
		}
	}
}

func TestRegistryRoundTrip(t *testing.T) {
	ctx := context.Background()
	a := openRegistryApp(t)
	// By path, with a dependency override.
	st, err := a.RegisterStack(ctx, filepath.Join(registryStacks(t), "demo-database"), "", []string{"network"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "demo-database" || st.Version != 1 {
		t.Fatalf("registered %s v%d, want database v1", st.Name, st.Version)
	}
	desc, prio := "the database", 5
	if err := a.UpdateStack(ctx, "demo-database", &desc, nil, &prio); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateStack(ctx, "demo-database", nil, nil, nil); err == nil {
		t.Error("an update with nothing to change was accepted")
	}
	list, err := a.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("listed %d stacks, want 1", len(list))
	}
	got := list[0]
	if got.Version != 2 || got.Description != desc || got.Priority != 5 ||
		!reflect.DeepEqual(got.Dependencies, []string{"network"}) || len(got.Inputs) != 6 || len(got.Outputs) != 4 {
		t.Errorf("listed %+v", got)
	}
	// Re-registering keeps the priority; the program's dependencies return.
	if _, err := a.RegisterStack(ctx, "demo-database", "", nil, false); err != nil {
		t.Fatal(err)
	}
	hist, err := a.StackHistory(ctx, "demo-database")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].Version != 1 || hist[2].Version != 3 {
		t.Fatalf("history has %d versions", len(hist))
	}
	if last := hist[2]; last.Priority != 5 || !reflect.DeepEqual(last.Dependencies, []string{"network", "security"}) {
		t.Errorf("re-registered: priority %d dependencies %v", last.Priority, last.Dependencies)
	}
	if err := a.UnregisterStack(ctx, "demo-database", false); err != nil {
		t.Fatal(err)
	}
	if list, _ := a.ListStacks(ctx); len(list) != 0 {
		t.Errorf("still listed after unregister: %v", list)
	}
	if err := a.UnregisterStack(ctx, "demo-database", false); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("unregister twice: %v, want ErrNotFound", err)
	}
	if _, err := a.StackHistory(ctx, "demo-database"); err != nil {
		t.Errorf("history gone after unregister: %v", err)
	}
	if _, err := a.RegisterStack(ctx, "nosuchstack", "", nil, false); err == nil {
		t.Error("registered a program that does not exist")
	}
}

func TestRegistryUnregisterRefusedWhileUsed(t *testing.T) {
	ctx := context.Background()
	a := openRegistryApp(t)
	if _, err := a.RegisterStack(ctx, "probe", "", nil, false); err != nil {
		t.Fatal(err)
	}
	const m = `version: 1
deployment_id: DREG001
organization: acme
project: reg
environments:
  dev:
    region: eu-west-1
stacks:
  first: {program: probe}
  second: {program: probe, dependencies: [first]}
`
	if _, err := a.Init(ctx, app.InitRequest{File: "reg.yaml", Data: []byte(m)}); err != nil {
		t.Fatal(err)
	}
	err := a.UnregisterStack(ctx, "probe", false)
	var ue *app.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "DREG001") || !strings.Contains(err.Error(), "first, second") {
		t.Fatalf("unregister of a used program: %v, want a usage error naming DREG001 and its stacks", err)
	}
	if err := a.UnregisterStack(ctx, "probe", true); err != nil {
		t.Fatalf("unregister --force: %v", err)
	}
}
