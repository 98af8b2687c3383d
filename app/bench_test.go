package app_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// skewedManifest is two chains of probes: "a" with three 4-second stacks,
// "b" with an 8-second head and two 1-second stacks. Run layer by layer, b's
// slow head holds back a's second stack; run eagerly, the a chain is the
// critical path.
const skewedManifest = `version: 1
deployment_id: DBENCH1
organization: bench
project: skewed
environments:
  dev:
    region: eu-west-1
stacks:
  a1: {program: probe, config: {delaySeconds: 4}}
  a2: {program: probe, dependencies: [a1], config: {delaySeconds: 4}}
  a3: {program: probe, dependencies: [a2], config: {delaySeconds: 4}}
  b1: {program: probe, config: {delaySeconds: 8}}
  b2: {program: probe, dependencies: [b1], config: {delaySeconds: 1}}
  b3: {program: probe, dependencies: [b2], config: {delaySeconds: 1}}
`

// probeDir holds the probe stack, compiled once for every test and
// benchmark of the package.
var probeDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cloud-app-test-")
	if err != nil {
		panic(err)
	}
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "probe"), "./stacks/examples/cmd/probe")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build probe: %v\n%s", err, out)
		os.Exit(1)
	}
	probeDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func pulumiPath(tb testing.TB) string {
	if p := os.Getenv("CLOUD_PULUMI"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", ".tools", "bin", "pulumi")
}

// BenchmarkSkewedDeploy deploys the skewed probe graph with the real Pulumi
// engine and reports the makespan against the critical path measured from
// the recorded stack durations, and against what layer-by-layer scheduling
// would take with the same durations (the slowest stack of each layer,
// summed).
func BenchmarkSkewedDeploy(b *testing.B) {
	stacks := probeDir
	ctx := context.Background()
	var ratio, layeredRatio float64
	for i := 0; i < b.N; i++ {
		a, err := app.Open(ctx, app.Config{Home: b.TempDir(), StacksDirs: []string{stacks}, Pulumi: pulumiPath(b)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Init(ctx, app.InitRequest{File: "skewed.yaml", Data: []byte(skewedManifest)}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		rep, err := a.Run(ctx, app.RunRequest{DeploymentID: "DBENCH1", Environment: "dev", Kind: vocab.KindDeploy, RunOptions: app.RunOptions{Parallel: 6}})
		makespan := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		ops, err := a.OperationStacks(ctx, rep.Operation.ID)
		if err != nil {
			b.Fatal(err)
		}
		cp, layered := criticalAndLayered(ops, rep.Layers)
		ratio += float64(makespan) / float64(cp)
		layeredRatio += float64(layered) / float64(cp)
		a.Close()
	}
	b.ReportMetric(ratio/float64(b.N), "makespan/critical-path")
	b.ReportMetric(layeredRatio/float64(b.N), "layered/critical-path")
}

// criticalAndLayered computes, from the recorded durations of the stacks,
// the longest dependency chain (the chains are a1-a2-a3 and b1-b2-b3) and
// the layer-by-layer total.
func criticalAndLayered(ops []store.OperationStack, layers map[string]int) (time.Duration, time.Duration) {
	d := map[string]time.Duration{}
	for _, s := range ops {
		if s.StartedAt != nil && s.FinishedAt != nil {
			d[s.Stack] = s.FinishedAt.Sub(*s.StartedAt)
		}
	}
	cp := max(d["a1"]+d["a2"]+d["a3"], d["b1"]+d["b2"]+d["b3"])
	slowest := map[int]time.Duration{}
	for n, l := range layers {
		slowest[l] = max(slowest[l], d[n])
	}
	var layered time.Duration
	for _, v := range slowest {
		layered += v
	}
	return cp, layered
}
