package localfile_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/cloudplatform/cloud/providers/localfile"
)

func props(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unprops(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := plugin.UnmarshalProperties(s, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func configured(t *testing.T, root string) *localfile.Provider {
	t.Helper()
	p := localfile.New()
	args, _ := structpb.NewStruct(map[string]any{"root": root})
	resp, err := p.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: args})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.AcceptSecrets || !resp.SupportsPreview {
		t.Fatalf("Configure = %v, want AcceptSecrets and SupportsPreview", resp)
	}
	if p.Root() != root {
		t.Fatalf("root = %q, want %q", p.Root(), root)
	}
	return p
}

func TestCheck(t *testing.T) {
	p := configured(t, t.TempDir())
	ctx := context.Background()

	resp, err := p.Check(ctx, &pulumirpc.CheckRequest{Type: localfile.FileType,
		News: props(t, resource.PropertyMap{"path": str("a.txt")})})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Failures) != 0 {
		t.Fatalf("failures: %v", resp.Failures)
	}
	in := unprops(t, resp.Inputs)
	if in["mode"] != str("0644") || in["content"] != str("") || in["path"] != str("a.txt") {
		t.Fatalf("checked inputs = %v, want defaults filled", in)
	}

	for name, news := range map[string]resource.PropertyMap{
		"no path":    {"content": str("x")},
		"empty path": {"path": str("  ")},
		"bad mode":   {"path": str("a"), "mode": str("rw-r--r--")},
		"mode bits":  {"path": str("a"), "mode": str("4755")},
		"output set": {"path": str("a"), "sha256": str("abc")},
	} {
		resp, err := p.Check(ctx, &pulumirpc.CheckRequest{Type: localfile.FileType, News: props(t, news)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(resp.Failures) == 0 {
			t.Errorf("%s: no check failure", name)
		}
	}

	// An unknown path (from another resource's output, during preview) is fine.
	resp, err = p.Check(ctx, &pulumirpc.CheckRequest{Type: localfile.FileType,
		News: props(t, resource.PropertyMap{"path": resource.MakeComputed(str(""))})})
	if err != nil || len(resp.Failures) != 0 {
		t.Fatalf("unknown path: %v %v", err, resp.GetFailures())
	}
}

func TestDiff(t *testing.T) {
	root := t.TempDir()
	p := configured(t, root)
	id := filepath.Join(root, "a.txt")
	olds := resource.PropertyMap{"path": str("a.txt"), "content": str("one"), "mode": str("0644"),
		"sha256": str(localfile.Digest([]byte("one"))), "size": resource.NewNumberProperty(3)}
	diff := func(news resource.PropertyMap) *pulumirpc.DiffResponse {
		t.Helper()
		resp, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{
			Id: id, Type: localfile.FileType, Olds: props(t, olds), News: props(t, news)})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	same := diff(resource.PropertyMap{"path": str("a.txt"), "content": str("one"), "mode": str("644")})
	if same.Changes != pulumirpc.DiffResponse_DIFF_NONE || len(same.Diffs) != 0 {
		t.Errorf("no change: %v", same)
	}

	upd := diff(resource.PropertyMap{"path": str("a.txt"), "content": str("two"), "mode": str("0600")})
	if upd.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(upd.Replaces) != 0 ||
		upd.DetailedDiff["content"].GetKind() != pulumirpc.PropertyDiff_UPDATE ||
		upd.DetailedDiff["mode"].GetKind() != pulumirpc.PropertyDiff_UPDATE || len(upd.Diffs) != 2 {
		t.Errorf("content+mode change: %v", upd)
	}

	repl := diff(resource.PropertyMap{"path": str("b.txt"), "content": str("one"), "mode": str("0644")})
	if repl.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(repl.Replaces) != 1 || repl.Replaces[0] != "path" ||
		repl.DetailedDiff["path"].GetKind() != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Errorf("path change: %v", repl)
	}

	// The same file spelled differently must not be a replacement: create-
	// before-delete would delete the file just written.
	spelled := diff(resource.PropertyMap{"path": str(id), "content": str("one"), "mode": str("0644")})
	if len(spelled.Replaces) != 0 || spelled.DetailedDiff["path"].GetKind() != pulumirpc.PropertyDiff_UPDATE {
		t.Errorf("same file, other spelling: %v", spelled)
	}

	unknown := diff(resource.PropertyMap{"path": str("a.txt"), "content": resource.MakeComputed(str("")), "mode": str("0644")})
	if unknown.Changes != pulumirpc.DiffResponse_DIFF_SOME || unknown.DetailedDiff["content"] == nil {
		t.Errorf("unknown content: %v", unknown)
	}
}

func TestLifecycle(t *testing.T) {
	root := t.TempDir()
	p := configured(t, root)
	ctx := context.Background()
	in := resource.PropertyMap{"path": str("sub/dir/f.txt"), "content": resource.MakeSecret(str("hello")), "mode": str("0600")}
	want := filepath.Join(root, "sub", "dir", "f.txt")

	pre, err := p.Create(ctx, &pulumirpc.CreateRequest{Type: localfile.FileType, Properties: props(t, in), Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(want); !os.IsNotExist(err) {
		t.Fatalf("preview create wrote the file (stat: %v)", err)
	}
	if pre.Id != want {
		t.Errorf("preview id = %q", pre.Id)
	}

	cr, err := p.Create(ctx, &pulumirpc.CreateRequest{Type: localfile.FileType, Properties: props(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	if cr.Id != want {
		t.Fatalf("id = %q, want %q", cr.Id, want)
	}
	data, err := os.ReadFile(want)
	if err != nil || string(data) != "hello" {
		t.Fatalf("file = %q, %v", data, err)
	}
	if st, _ := os.Stat(want); st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v", st.Mode())
	}
	out := unprops(t, cr.Properties)
	if out["sha256"] != str(localfile.Digest([]byte("hello"))) || out["size"] != resource.NewNumberProperty(5) ||
		!out["content"].IsSecret() {
		t.Errorf("outputs = %v", out)
	}

	// Nothing changed: Read returns the same state.
	rd, err := p.Read(ctx, &pulumirpc.ReadRequest{Id: cr.Id, Properties: cr.Properties, Inputs: props(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	if got := unprops(t, rd.Properties); !got.DeepEquals(out) {
		t.Errorf("read unchanged = %v, want %v", got, out)
	}

	// Drift: an edit by hand shows up in outputs and inputs.
	if err := os.WriteFile(want, []byte("edited!"), 0o600); err != nil {
		t.Fatal(err)
	}
	rd, err = p.Read(ctx, &pulumirpc.ReadRequest{Id: cr.Id, Properties: cr.Properties, Inputs: props(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	got, gotIn := unprops(t, rd.Properties), unprops(t, rd.Inputs)
	if !got["content"].DeepEquals(resource.MakeSecret(str("edited!"))) || got["size"] != resource.NewNumberProperty(7) ||
		got["sha256"] != str(localfile.Digest([]byte("edited!"))) || !gotIn["content"].DeepEquals(resource.MakeSecret(str("edited!"))) ||
		gotIn["path"] != str("sub/dir/f.txt") {
		t.Errorf("read after edit = %v / %v", got, gotIn)
	}

	// Update puts the program's content back.
	up, err := p.Update(ctx, &pulumirpc.UpdateRequest{Id: cr.Id, Type: localfile.FileType, Olds: rd.Properties,
		News: props(t, resource.PropertyMap{"path": str("sub/dir/f.txt"), "content": str("again"), "mode": str("0640")})})
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(want); string(data) != "again" {
		t.Errorf("after update file = %q", data)
	}
	if st, _ := os.Stat(want); st.Mode().Perm() != 0o640 {
		t.Errorf("mode after update = %v", st.Mode())
	}
	if unprops(t, up.Properties)["size"] != resource.NewNumberProperty(5) {
		t.Errorf("update outputs = %v", unprops(t, up.Properties))
	}

	// Delete, twice: a missing file is fine. Read then reports it gone.
	for range 2 {
		if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Id: cr.Id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(want); !os.IsNotExist(err) {
		t.Fatalf("file still there after delete: %v", err)
	}
	rd, err = p.Read(ctx, &pulumirpc.ReadRequest{Id: cr.Id, Properties: up.Properties})
	if err != nil || rd.Id != "" {
		t.Fatalf("read of deleted file = %v, %v; want empty id", rd, err)
	}
}

func TestRootFromEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(localfile.RootEnv, dir)
	p := localfile.New()
	if got := p.Resolve("x/y"); got != filepath.Join(dir, "x", "y") {
		t.Errorf("Resolve = %q", got)
	}
	if got := p.Resolve("/abs/z"); got != "/abs/z" {
		t.Errorf("Resolve(abs) = %q", got)
	}
}
