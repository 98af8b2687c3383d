package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/stacks/project"
)

// BenchmarkProjectDeploy measures what cloud adds to a Pulumi project: one
// `cloud deploy-stack --force` of the example YAML project
// (stacks/projects/site) with nothing changed, against a raw `pulumi up`
// of a copy of the same project, same config, same Pulumi CLI, language
// host and provider, on a file backend of its own. Both are run as
// processes, alternately (the order swapped at each pair, so that a load
// arriving on the machine weighs on both), after one deploy of each; the
// figures are medians: of cloud's runs, of Pulumi's, and of the per-pair
// ratio cloud / Pulumi. It reports, never asserts (docs/performance.md):
//
//	go test ./cmd/cloud -run '^$' -bench BenchmarkProjectDeploy -benchtime 7x
//
// The raw run passes the flags the Automation API's Stack.Up passes (up
// --yes --skip-preview --suppress-progress --non-interactive): no preview
// first, no progress display. It does not pass --event-log: following the
// engine's events is work cloud does and pays for.
func BenchmarkProjectDeploy(b *testing.B) {
	pulumi := os.Getenv("CLOUD_PULUMI") // TestMain sets it to .tools/bin/pulumi when built
	if pulumi == "" {
		pulumi, _ = exec.LookPath("pulumi")
	}
	if pulumi == "" {
		b.Skip("no Pulumi CLI: build it with tools/install/pulumi.sh (.tools/bin/pulumi), or set CLOUD_PULUMI")
	}
	if _, err := project.LanguageHost("yaml", pulumi, ""); err != nil {
		b.Skip(err)
	}
	src, err := filepath.Abs(filepath.Join("..", "..", "stacks", "projects", "site"))
	if err != nil {
		b.Fatal(err)
	}

	tmp := b.TempDir()
	home := filepath.Join(tmp, "cloud-home")
	userHome := filepath.Join(tmp, "home")
	if err := os.MkdirAll(userHome, 0o700); err != nil {
		b.Fatal(err)
	}
	// The same PATH for both: the project's tools first (the Pulumi CLI,
	// the YAML host, the localfile provider), then TestMain's (the cloud
	// binary's directory).
	path := filepath.Dir(pulumi) + string(os.PathListSeparator) + os.Getenv("PATH")
	env := append(os.Environ(), "PATH="+path, "HOME="+userHome,
		"PULUMI_SKIP_UPDATE_CHECK=true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true")

	// cloud: the project registered, a deployment of it alone, deployed once.
	cloudVars := append(slices.Clone(env), "CLOUD_PULUMI="+pulumi, "CLOUD_STACKS_DIR="+filepath.Join(home, "no-stacks"))
	runCloud := func(args ...string) result {
		return benchRun(b, cloudVars, "", cloudBin, append([]string{"--home", home, "--no-color"}, args...)...)
	}
	const id = "DBENCH1"
	config := func(dir string) map[string]string {
		return map[string]string{"directory": dir, "title": "Bench", "apiUrl": "https://api.example.com/v1", "replicas": "2"}
	}
	cloudCfg := config(filepath.Join(tmp, "site-cloud"))
	manifest := filepath.Join(tmp, "deployment-manifest.yaml")
	if err := os.WriteFile(manifest, []byte(fmt.Sprintf(`version: 1
deployment_id: %s
organization: acme
project: bench
environments:
  dev: { enabled: true, region: us-east-1, account_id: "111111111111" }
stacks:
  site:
    config:
      directory: %s
      title: %s
      apiUrl: %s
      replicas: %s
`, id, cloudCfg["directory"], cloudCfg["title"], cloudCfg["apiUrl"], cloudCfg["replicas"])), 0o600); err != nil {
		b.Fatal(err)
	}
	runCloud("register-stack", src)
	runCloud("init", "--from-file", manifest)
	runCloud("deploy", id, "-e", "dev")

	// Pulumi: a copy of the project, its own backend, the same config.
	proj := filepath.Join(tmp, "raw", "site")
	if err := os.CopyFS(proj, os.DirFS(src)); err != nil {
		b.Fatal(err)
	}
	rawEnv := append(slices.Clone(env), "PULUMI_HOME="+filepath.Join(tmp, "raw", "pulumi-home"),
		"PULUMI_CONFIG_PASSPHRASE=bench")
	runPulumi := func(args ...string) result { return benchRun(b, rawEnv, proj, pulumi, args...) }
	state := filepath.Join(tmp, "raw", "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		b.Fatal(err)
	}
	runPulumi("login", "file://"+state)
	runPulumi("stack", "init", "dev")
	rawCfg := config(filepath.Join(tmp, "site-raw"))
	for _, k := range []string{"directory", "title", "apiUrl", "replicas"} {
		runPulumi("config", "set", k, rawCfg[k])
	}
	runPulumi("up", "--yes", "--skip-preview")

	deploy := func() {
		r := runCloud("-o", "json", "deploy-stack", id, "site", "-e", "dev", "--force")
		var rep reportJSON
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			b.Fatalf("deploy-stack report: %v\n%s", err, r.stdout)
		}
		if len(rep.Stacks) != 1 || rep.Stacks[0].Status != "deployed" {
			b.Fatalf("deploy-stack --force did not deploy the stack:\n%s", r.stdout)
		}
	}
	up := func() { runPulumi("up", "--yes", "--skip-preview", "--suppress-progress", "--non-interactive") }
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}

	var cloudTimes, pulumiTimes, ratios []float64
	for i := 0; b.Loop(); i++ {
		var c, p time.Duration
		if i%2 == 0 {
			c = timed(deploy)
			p = timed(up)
		} else {
			p = timed(up)
			c = timed(deploy)
		}
		cloudTimes = append(cloudTimes, millis(c))
		pulumiTimes = append(pulumiTimes, millis(p))
		ratios = append(ratios, millis(c)/millis(p))
	}
	b.ReportMetric(benchMedian(cloudTimes), "cloud-ms-median")
	b.ReportMetric(benchMedian(pulumiTimes), "pulumi-ms-median")
	b.ReportMetric(benchMedian(ratios), "ratio-median")
	b.Logf("cloud ms: %.0f", cloudTimes)
	b.Logf("pulumi ms: %.0f", pulumiTimes)
	b.Logf("ratios: %.2f", ratios)
}

// benchRun runs a command in dir (the test's directory when empty) with
// env and fails the benchmark unless it succeeds. (cloudEnv and mustCloud
// take a *testing.T.)
func benchRun(tb testing.TB, env []string, dir, name string, args ...string) result {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env, cmd.Dir = env, dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return result{0, out.String(), errb.String()}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchMedian is the median of xs (the mean of the middle two for an even count).
func benchMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
