package localfile_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudplatform/cloud/providers/localfile"
)

// file is the program-side view of a localfile:index:File. No generated SDK
// exists; embedding CustomResourceState and tagging outputs is all
// RegisterResource needs.
type file struct {
	pulumi.CustomResourceState

	Path    pulumi.StringOutput `pulumi:"path"`
	Content pulumi.StringOutput `pulumi:"content"`
	Mode    pulumi.StringOutput `pulumi:"mode"`
	SHA256  pulumi.StringOutput `pulumi:"sha256"`
	Size    pulumi.IntOutput    `pulumi:"size"`
}

// pulumiCLI finds the Pulumi CLI the way the rest of the repository does:
// $CLOUD_PULUMI, else the one tools/install/pulumi.sh builds into .tools/bin.
func pulumiCLI(t *testing.T) string {
	if p := os.Getenv("CLOUD_PULUMI"); p != "" {
		return p
	}
	_, src, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(src), "..", "..", ".tools", "bin", "pulumi")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no Pulumi CLI (set CLOUD_PULUMI or run tools/install/pulumi.sh): %v", err)
	}
	return p
}

// collect gathers an operation's engine events; wait returns them once the
// Automation API has closed the channel.
func collect() (chan events.EngineEvent, func() []events.EngineEvent) {
	ch := make(chan events.EngineEvent)
	var evs []events.EngineEvent
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for e := range ch {
			evs = append(evs, e)
		}
	}()
	return ch, func() []events.EngineEvent { wg.Wait(); return evs }
}

// ops maps URN → the ops the engine reported for it (pre and outputs events).
func ops(evs []events.EngineEvent) map[string][]apitype.OpType {
	m := map[string][]apitype.OpType{}
	for _, e := range evs {
		switch {
		case e.ResourcePreEvent != nil:
			md := e.ResourcePreEvent.Metadata
			m[md.URN] = append(m[md.URN], md.Op)
		case e.ResOutputsEvent != nil:
			md := e.ResOutputsEvent.Metadata
			m[md.URN] = append(m[md.URN], md.Op)
		}
	}
	return m
}

func changed(summary map[string]int) map[string]int {
	out := map[string]int{}
	for op, n := range summary {
		if op != string(apitype.OpSame) && n > 0 {
			out[op] = n
		}
	}
	return out
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// buildProvider builds the plugin into a fresh directory and returns it.
func buildProvider(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "pulumi-resource-localfile"),
		"github.com/cloudplatform/cloud/cmd/pulumi-resource-localfile")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build provider: %v\n%s", err, out)
	}
	return dir
}

// openStack makes a stack "dev" of an inline program with a file backend and
// an empty PULUMI_HOME (so no plugin can come from the plugin cache).
// plugins, when set, goes into the project as Pulumi.yaml's `plugins`.
func openStack(t *testing.T, program pulumi.RunFunc, plugins *workspace.Plugins) auto.Stack {
	t.Helper()
	stack, err := auto.UpsertStackInlineSource(context.Background(), "dev", "localfile-test", program,
		auto.WorkDir(t.TempDir()),
		auto.PulumiHome(t.TempDir()),
		auto.SecretsProvider("passphrase"),
		auto.Project(workspace.Project{
			Name:    tokens.PackageName("localfile-test"),
			Runtime: workspace.NewProjectRuntimeInfo("go", nil),
			Backend: &workspace.ProjectBackend{URL: "file://" + t.TempDir()},
			Plugins: plugins,
		}),
		auto.EnvVars(map[string]string{
			"PULUMI_CONFIG_PASSPHRASE":                    "test",
			"PULUMI_SKIP_UPDATE_CHECK":                    "true",
			"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return stack
}

// TestEngine drives the real Pulumi CLI with the provider as an ambient
// plugin: create, no-op, drift found by refresh, drift repaired by up,
// deletion drift, replacement, destroy.
func TestEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the Pulumi engine")
	}
	cli := pulumiCLI(t)
	binDir := buildProvider(t)
	// The engine looks plugins up on PATH; the provider needs no install.
	t.Setenv("PATH", binDir+string(os.PathListSeparator)+filepath.Dir(cli)+
		string(os.PathListSeparator)+os.Getenv("PATH"))

	ctx := context.Background()
	dataDir := t.TempDir() // absolute paths live here
	rootDir := t.TempDir() // the provider's localfile:root
	absName := filepath.Join(dataDir, "nested", "hello.txt")
	relName := filepath.Join(rootDir, "rel.txt")

	// The program reads these, so a test step can change the desired state.
	content, absPath := "hello, world\n", absName
	program := func(ctx *pulumi.Context) error {
		var a, r file
		if err := ctx.RegisterResource("localfile:index:File", "hello", pulumi.Map{
			"path":    pulumi.String(absPath),
			"content": pulumi.String(content),
		}, &a); err != nil {
			return err
		}
		if err := ctx.RegisterResource("localfile:index:File", "rel", pulumi.Map{
			"path":    pulumi.String("rel.txt"),
			"content": pulumi.String("relative\n"),
			"mode":    pulumi.String("0600"),
		}, &r); err != nil {
			return err
		}
		ctx.Export("helloUrn", a.URN())
		ctx.Export("relUrn", r.URN())
		ctx.Export("helloSha256", a.SHA256)
		ctx.Export("helloSize", a.Size)
		ctx.Export("relId", r.ID())
		return nil
	}

	stack := openStack(t, program, nil)
	if err := stack.SetConfig(ctx, "localfile:root", auto.ConfigValue{Value: rootDir}); err != nil {
		t.Fatal(err)
	}

	// 1. up creates both files.
	ch, wait := collect()
	up, err := stack.Up(ctx, optup.EventStreams(ch))
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	for _, e := range wait() {
		if d := e.DiagnosticEvent; d != nil {
			// Expected: the engine warns that it uses a plugin from $PATH.
			t.Logf("diagnostic (%s): %s", d.Severity, strings.TrimSpace(d.Message))
		}
	}
	if got := readFile(t, absName); got != content {
		t.Fatalf("created file = %q", got)
	}
	if got := readFile(t, relName); got != "relative\n" {
		t.Fatalf("relative file = %q", got)
	}
	if st, _ := os.Stat(relName); st.Mode().Perm() != 0o600 {
		t.Errorf("relative file mode = %v", st.Mode())
	}
	if got, want := up.Outputs["helloSha256"].Value, localfile.Digest([]byte(content)); got != want {
		t.Errorf("sha256 output = %v, want %s", got, want)
	}
	if got := up.Outputs["helloSize"].Value; got != float64(len(content)) {
		t.Errorf("size output = %v", got)
	}
	if got := up.Outputs["relId"].Value; got != relName {
		t.Errorf("relative file id = %v, want %s", got, relName)
	}
	helloURN, _ := up.Outputs["helloUrn"].Value.(string)
	relURN, _ := up.Outputs["relUrn"].Value.(string)
	t.Logf("first up: %v; hello = %s", (*up.Summary.ResourceChanges), helloURN)

	// 2. a second up changes nothing.
	up, err = stack.Up(ctx)
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	if c := changed(*up.Summary.ResourceChanges); len(c) != 0 {
		t.Errorf("second up changed %v", c)
	}

	// 3. drift: edit by hand; a refresh preview names the resource, and does
	// not touch the file or the state.
	if err := os.WriteFile(absName, []byte("edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ch, wait = collect()
	pr, err := stack.PreviewRefresh(ctx, optrefresh.EventStreams(ch))
	if err != nil {
		t.Fatalf("preview refresh: %v", err)
	}
	prOps := ops(wait())
	t.Logf("preview refresh: summary %v, ops %v", pr.ChangeSummary, prOps)
	if pr.ChangeSummary[apitype.OpUpdate] != 1 {
		t.Errorf("preview refresh summary = %v, want 1 update", pr.ChangeSummary)
	}
	if !contains(prOps[helloURN], apitype.OpUpdate) {
		t.Errorf("preview refresh ops for %s = %v, want update", helloURN, prOps[helloURN])
	}
	if contains(prOps[relURN], apitype.OpUpdate) {
		t.Errorf("untouched %s reported as %v", relURN, prOps[relURN])
	}
	if got := readFile(t, absName); got != "edited by hand\n" {
		t.Errorf("preview refresh changed the file: %q", got)
	}

	// 4. refresh records the drift; up then puts the program's content back.
	ch, wait = collect()
	rr, err := stack.Refresh(ctx, optrefresh.EventStreams(ch))
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	rOps := ops(wait())
	if !contains(rOps[helloURN], apitype.OpUpdate) || (*rr.Summary.ResourceChanges)[string(apitype.OpUpdate)] != 1 {
		t.Errorf("refresh: summary %v, ops %v", *rr.Summary.ResourceChanges, rOps)
	}
	ch, wait = collect()
	up, err = stack.Up(ctx, optup.EventStreams(ch))
	if err != nil {
		t.Fatalf("up after refresh: %v", err)
	}
	if c := changed(*up.Summary.ResourceChanges); c[string(apitype.OpUpdate)] != 1 || len(c) != 1 {
		t.Errorf("up after refresh changed %v, want 1 update", c)
	}
	if uOps := ops(wait()); !contains(uOps[helloURN], apitype.OpUpdate) {
		t.Errorf("up after refresh ops for hello = %v", uOps[helloURN])
	}
	if got := readFile(t, absName); got != content {
		t.Errorf("up did not restore the content: %q", got)
	}

	// 5. a file deleted by hand: refresh drops it from the state, up
	// recreates it.
	if err := os.Remove(relName); err != nil {
		t.Fatal(err)
	}
	ch, wait = collect()
	if _, err := stack.Refresh(ctx, optrefresh.EventStreams(ch)); err != nil {
		t.Fatalf("refresh after delete: %v", err)
	}
	if dOps := ops(wait()); !contains(dOps[relURN], apitype.OpDelete) {
		t.Errorf("refresh after delete: ops for rel = %v, want delete", dOps[relURN])
	}
	up, err = stack.Up(ctx)
	if err != nil {
		t.Fatalf("up after delete: %v", err)
	}
	if c := changed(*up.Summary.ResourceChanges); c[string(apitype.OpCreate)] != 1 {
		t.Errorf("up after delete changed %v, want 1 create", c)
	}
	if got := readFile(t, relName); got != "relative\n" {
		t.Errorf("recreated file = %q", got)
	}

	// 6. program changes: new content updates in place; a new path replaces
	// (the new file is written, the old one removed).
	content = "second version\n"
	if up, err = stack.Up(ctx); err != nil {
		t.Fatalf("up with new content: %v", err)
	}
	if c := changed(*up.Summary.ResourceChanges); c[string(apitype.OpUpdate)] != 1 || len(c) != 1 {
		t.Errorf("content change: %v, want 1 update", c)
	}
	if got := readFile(t, absName); got != content {
		t.Errorf("updated file = %q", got)
	}
	absPath = filepath.Join(dataDir, "moved.txt")
	if up, err = stack.Up(ctx); err != nil {
		t.Fatalf("up with new path: %v", err)
	}
	if c := changed(*up.Summary.ResourceChanges); c[string(apitype.OpReplace)] != 1 {
		t.Errorf("path change: %v, want 1 replace", c)
	}
	if got := readFile(t, absPath); got != content {
		t.Errorf("moved file = %q", got)
	}
	if _, err := os.Stat(absName); !os.IsNotExist(err) {
		t.Errorf("old file still there after replace: %v", err)
	}

	// 7. destroy removes the files.
	if _, err := stack.Destroy(ctx, optdestroy.Remove()); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	for _, name := range []string{absPath, relName} {
		if _, err := os.Stat(name); !os.IsNotExist(err) {
			t.Errorf("%s still there after destroy: %v", name, err)
		}
	}
}

func contains(ops []apitype.OpType, op apitype.OpType) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// TestEngineProjectPlugin uses the provider through Pulumi.yaml's
// `plugins.providers` (path to the directory holding the binary) instead of
// PATH. The engine then does not warn "using pulumi-resource-localfile from
// $PATH", which it does on every ambient lookup.
func TestEngineProjectPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("drives the Pulumi engine")
	}
	cli := pulumiCLI(t)
	binDir := buildProvider(t)
	t.Setenv("PATH", filepath.Dir(cli)+string(os.PathListSeparator)+os.Getenv("PATH"))

	name := filepath.Join(t.TempDir(), "p.txt")
	program := func(ctx *pulumi.Context) error {
		var f file
		return ctx.RegisterResource("localfile:index:File", "p", pulumi.Map{
			"path": pulumi.String(name), "content": pulumi.String("via project plugin"),
		}, &f)
	}
	stack := openStack(t, program, &workspace.Plugins{
		Providers: []workspace.PluginOptions{{Name: "localfile", Path: binDir}},
	})
	ctx := context.Background()
	ch, wait := collect()
	if _, err := stack.Up(ctx, optup.EventStreams(ch)); err != nil {
		t.Fatalf("up: %v", err)
	}
	for _, e := range wait() {
		if d := e.DiagnosticEvent; d != nil && d.Severity == "warning" {
			t.Errorf("unexpected warning: %s", strings.TrimSpace(d.Message))
		}
	}
	if got := readFile(t, name); got != "via project plugin" {
		t.Errorf("file = %q", got)
	}
	if _, err := stack.Destroy(ctx, optdestroy.Remove()); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("file still there after destroy: %v", err)
	}
}
