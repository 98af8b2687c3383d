// Package localfile is a Pulumi resource provider that manages files on the
// local disk. It exists so that the whole resource lifecycle — create,
// update, replace, delete, refresh and drift detection — can be exercised
// against the real Pulumi engine on a machine that cannot download provider
// plugins: editing a managed file by hand is real drift that `pulumi refresh`
// sees, with no cloud account involved.
//
// The package implements the gRPC ResourceProviderServer; the command
// cmd/pulumi-resource-localfile serves it. A `pulumi-resource-localfile`
// binary on PATH is picked up by the engine as an ambient plugin, so stacks
// need no plugin installation step.
package localfile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	// PackageName is the Pulumi package name; the engine derives the plugin
	// binary name (pulumi-resource-localfile) and config namespace from it.
	PackageName = "localfile"
	// FileType is the type token of the only resource this provider manages.
	FileType = "localfile:index:File"
	// Version is reported by GetPluginInfo and the schema. Ambient plugins
	// are found by name only, so programs need not ask for a version.
	Version = "1.0.0"
	// RootEnv names the environment variable that sets the directory
	// relative paths resolve against when the provider config has no
	// `localfile:root`. The engine passes its environment to plugins, so a
	// runner can set it without touching stack config.
	RootEnv = "CLOUD_LOCALFILE_ROOT"
	// DefaultMode is the permission mode a file gets when `mode` is unset.
	DefaultMode = "0644"
)

// Property keys of a File. Inputs are path, content and mode; outputs add
// sha256 and size so a program (and a refresh) can see what is on disk.
const (
	keyPath    = "path"
	keyContent = "content"
	keyMode    = "mode"
	keySHA256  = "sha256"
	keySize    = "size"
)

// Provider implements pulumirpc.ResourceProviderServer for the localfile
// package. The zero value is not ready: use New, which fixes the default
// root from the environment.
type Provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	mu   sync.RWMutex
	root string // absolute directory that relative paths resolve against
}

// New returns a provider whose root is $CLOUD_LOCALFILE_ROOT or, when that is
// unset, the process's working directory. Configure may override it with the
// `localfile:root` config key.
func New() *Provider {
	return &Provider{root: defaultRoot()}
}

func defaultRoot() string {
	root := os.Getenv(RootEnv)
	if root == "" {
		root = "."
	}
	if abs, err := filepath.Abs(root); err == nil {
		return abs
	}
	return root
}

// Root returns the directory relative paths currently resolve against.
func (p *Provider) Root() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.root
}

// Resolve turns a `path` input into the absolute file name the provider
// manages. That absolute name is the resource ID, so a changed root or a
// differently spelled path naming the same file is recognised as the same
// file.
func (p *Provider) Resolve(path string) string {
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.Root(), path)
	}
	return filepath.Clean(path)
}

// marshalOpts keeps unknowns (previews carry them) and secrets (Configure
// promises AcceptSecrets, so secret content must come back still marked).
var marshalOpts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func unmarshal(s *structpb.Struct, label string) (resource.PropertyMap, error) {
	o := marshalOpts
	o.Label = label
	m, err := plugin.UnmarshalProperties(s, o)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%s: %v", label, err)
	}
	if m == nil {
		m = resource.PropertyMap{}
	}
	return m, nil
}

func marshal(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	o := marshalOpts
	o.Label = label
	return plugin.MarshalProperties(m, o)
}

// value is one property seen through secrets: the plain value plus whether it
// was secret or unknown, so outputs can be re-wrapped the way inputs came.
type value struct {
	v        resource.PropertyValue
	secret   bool
	computed bool
	present  bool
}

func get(m resource.PropertyMap, key string) value {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || v.IsNull() {
		return value{}
	}
	out := value{present: true}
	for v.IsSecret() {
		out.secret = true
		v = v.SecretValue().Element
	}
	if v.IsComputed() || v.IsOutput() && !v.OutputValue().Known {
		out.computed = true
	}
	if v.IsOutput() {
		out.secret = out.secret || v.OutputValue().Secret
		v = v.OutputValue().Element
	}
	out.v = v
	return out
}

// str returns the property as a string; ok is false when it is absent,
// unknown or not a string.
func (v value) str() (string, bool) {
	if !v.present || v.computed || !v.v.IsString() {
		return "", false
	}
	return v.v.StringValue(), true
}

func wrap(v resource.PropertyValue, secret bool) resource.PropertyValue {
	if secret {
		return resource.MakeSecret(v)
	}
	return v
}

// ParseMode parses an octal permission string such as "0644" or "755".
// Only permission bits are allowed: setuid and friends on a managed file
// would be a surprise, not a feature.
func ParseMode(s string) (fs.FileMode, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 8, 32)
	if err != nil {
		return 0, fmt.Errorf("mode %q is not an octal number like \"0644\"", s)
	}
	if n > 0o777 {
		return 0, fmt.Errorf("mode %q has bits outside 0777", s)
	}
	return fs.FileMode(n), nil
}

// FormatMode renders a permission mode the way the `mode` input is written,
// so a mode read back from disk compares equal to the input that set it.
func FormatMode(m fs.FileMode) string {
	return fmt.Sprintf("%04o", uint32(m.Perm()))
}

// normMode canonicalises a mode string for comparison ("644" == "0644");
// an unparsable mode is returned unchanged so it still compares as different.
func normMode(s string) string {
	m, err := ParseMode(s)
	if err != nil {
		return s
	}
	return FormatMode(m)
}

// Digest returns the hex SHA-256 of content, the `sha256` output.
func Digest(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// GetPluginInfo reports the provider version.
func (p *Provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// schemaJSON is a minimal but valid package schema. Nothing generates an SDK
// from it; it is there so `pulumi package get-schema` and tools that ask for
// the schema get a truthful answer instead of an error.
const schemaJSON = `{
  "name": "localfile",
  "version": "1.0.0",
  "description": "Files on the local disk, for offline tests of the Pulumi resource lifecycle and drift detection.",
  "config": {
    "variables": {
      "root": {"type": "string", "description": "Directory that relative paths resolve against (default $CLOUD_LOCALFILE_ROOT, else the provider's working directory)."}
    }
  },
  "provider": {
    "inputProperties": {
      "root": {"type": "string"}
    }
  },
  "resources": {
    "localfile:index:File": {
      "description": "A file on the local disk.",
      "inputProperties": {
        "path": {"type": "string", "description": "Absolute path, or relative to the provider's root. Changing it replaces the file.", "willReplaceOnChanges": true},
        "content": {"type": "string", "description": "File content."},
        "mode": {"type": "string", "description": "Octal permission mode, default \"0644\"."}
      },
      "requiredInputs": ["path"],
      "properties": {
        "path": {"type": "string"},
        "content": {"type": "string"},
        "mode": {"type": "string"},
        "sha256": {"type": "string", "description": "Hex SHA-256 of the content."},
        "size": {"type": "integer", "description": "Content length in bytes."}
      },
      "required": ["path", "content", "mode", "sha256", "size"]
    }
  }
}`

// GetSchema returns the package schema.
func (p *Provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: schemaJSON}, nil
}

// CheckConfig accepts any provider config: the only key, root, is checked
// when it is used, and an unknown key should not stop a deployment.
func (p *Provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews(), "checkConfig.news")
	if err != nil {
		return nil, err
	}
	if v := get(news, "root"); v.present && !v.computed && !v.v.IsString() {
		return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: []*pulumirpc.CheckFailure{
			{Property: "root", Reason: "root must be a string"},
		}}, nil
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig reports a change only when root changes. No replacement: files
// are identified by absolute path, so a new root shows up per file in Diff.
func (p *Provider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOlds(), "diffConfig.olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "diffConfig.news")
	if err != nil {
		return nil, err
	}
	o, n := get(olds, "root"), get(news, "root")
	os_, _ := o.str()
	ns, _ := n.str()
	if n.computed || o.present != n.present || os_ != ns {
		return &pulumirpc.DiffResponse{
			Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: []string{"root"},
			HasDetailedDiff: true,
			DetailedDiff:    map[string]*pulumirpc.PropertyDiff{"root": {Kind: pulumirpc.PropertyDiff_UPDATE, InputDiff: true}},
		}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

// Configure takes the root directory from the `localfile:root` config key.
// The engine sends it in Args, keyed without the package prefix.
func (p *Provider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	root := ""
	if args := req.GetArgs(); args != nil {
		if v, ok := args.GetFields()["root"]; ok {
			root = v.GetStringValue()
		}
	}
	if root != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "localfile:root %q: %v", root, err)
		}
		p.mu.Lock()
		p.root = abs
		p.mu.Unlock()
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

// Check validates a File's inputs and fills defaults (mode "0644", empty
// content) so Diff and Create always see all three inputs.
func (p *Provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if req.GetType() != "" && req.GetType() != FileType {
		return nil, status.Errorf(codes.InvalidArgument, "unknown resource type %q", req.GetType())
	}
	news, err := unmarshal(req.GetNews(), "check.news")
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	fail := func(prop, reason string) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: prop, Reason: reason})
	}

	if v := get(news, keyPath); !v.computed {
		if s, ok := v.str(); !ok || strings.TrimSpace(s) == "" {
			fail(keyPath, "path is required and must be a non-empty string")
		}
	}
	if v := get(news, keyContent); !v.present {
		news[keyContent] = resource.NewStringProperty("")
	} else if !v.computed && !v.v.IsString() {
		fail(keyContent, "content must be a string")
	}
	if v := get(news, keyMode); !v.present {
		news[keyMode] = resource.NewStringProperty(DefaultMode)
	} else if !v.computed {
		if s, ok := v.str(); !ok {
			fail(keyMode, "mode must be a string like \"0644\"")
		} else if _, err := ParseMode(s); err != nil {
			fail(keyMode, err.Error())
		}
	}
	// Outputs the provider computes cannot be set by a program.
	for _, k := range []resource.PropertyKey{keySHA256, keySize} {
		if _, ok := news[k]; ok {
			fail(string(k), string(k)+" is an output and cannot be set")
		}
	}

	inputs, err := marshal(news, "check.inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// Diff compares the stored state with the new inputs. A path that names a
// different file replaces the resource (a File is its path); content and
// mode are updated in place. An unknown new value counts as a change, since
// it may turn out different.
func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOlds(), "diff.olds")
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), "diff.news")
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	for _, k := range req.GetIgnoreChanges() {
		ignored[k] = true
	}

	resp := &pulumirpc.DiffResponse{HasDetailedDiff: true, DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, key := range []string{keyPath, keyContent, keyMode} {
		if ignored[key] {
			continue
		}
		o, n := get(olds, key), get(news, key)
		os_, _ := o.str()
		ns, _ := n.str()
		if key == keyMode {
			os_, ns = normMode(os_), normMode(ns)
		}
		if !n.computed && o.present == n.present && os_ == ns {
			continue
		}
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !o.present:
			kind = pulumirpc.PropertyDiff_ADD
		case !n.present:
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if key == keyPath {
			// Replace only when the new path names another file: "a.txt" →
			// "./a.txt" is the same file, and create-then-delete of a
			// replacement would delete the file it just wrote.
			if n.computed || req.GetId() == "" || p.Resolve(ns) != req.GetId() {
				resp.Replaces = append(resp.Replaces, key)
				kind = replaceKind[kind]
			}
		}
		resp.Diffs = append(resp.Diffs, key)
		resp.DetailedDiff[key] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(resp.Diffs) == 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_NONE
	} else {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}

// replaceKind maps a property diff kind to its replacing variant.
var replaceKind = map[pulumirpc.PropertyDiff_Kind]pulumirpc.PropertyDiff_Kind{
	pulumirpc.PropertyDiff_ADD:    pulumirpc.PropertyDiff_ADD_REPLACE,
	pulumirpc.PropertyDiff_DELETE: pulumirpc.PropertyDiff_DELETE_REPLACE,
	pulumirpc.PropertyDiff_UPDATE: pulumirpc.PropertyDiff_UPDATE_REPLACE,
}

// fileInputs are a File's checked inputs with secrecy remembered per key.
type fileInputs struct {
	path, content, mode string
	contentSecret       bool
	unknown             bool // some input is not known yet (preview only)
}

func parseInputs(m resource.PropertyMap) (fileInputs, error) {
	var in fileInputs
	pv, cv, mv := get(m, keyPath), get(m, keyContent), get(m, keyMode)
	in.unknown = pv.computed || cv.computed || mv.computed
	in.path, _ = pv.str()
	in.content, _ = cv.str()
	in.contentSecret = cv.secret
	in.mode, _ = mv.str()
	if in.mode == "" {
		in.mode = DefaultMode
	}
	if in.unknown {
		return in, nil
	}
	if in.path == "" {
		return in, errors.New("path is required")
	}
	if _, err := ParseMode(in.mode); err != nil {
		return in, err
	}
	return in, nil
}

// outputs builds the state the engine stores: the inputs plus what was
// computed from them. With unknown inputs (a preview) sha256 and size are
// unknown too.
func outputs(inputs resource.PropertyMap, in fileInputs) resource.PropertyMap {
	out := inputs.Copy()
	if in.unknown {
		out[keySHA256] = resource.MakeComputed(resource.NewStringProperty(""))
		out[keySize] = resource.MakeComputed(resource.NewNumberProperty(0))
		return out
	}
	out[keyMode] = resource.NewStringProperty(normMode(in.mode))
	out[keySHA256] = resource.NewStringProperty(Digest([]byte(in.content)))
	out[keySize] = resource.NewNumberProperty(float64(len(in.content)))
	return out
}

// WriteFile writes content to name atomically — a temporary file in the same
// directory renamed over the target — so a reader or a crash never sees a
// half-written file. Parent directories are created.
func WriteFile(name string, content []byte, mode fs.FileMode) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename succeeds
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	// Chmod explicitly: CreateTemp makes 0600 and the umask would otherwise
	// interfere with the requested mode.
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// apply writes the file described by checked inputs (unless previewing) and
// returns the resource ID and outputs.
func (p *Provider) apply(props *structpb.Struct, preview bool, label string) (string, *structpb.Struct, error) {
	inputs, err := unmarshal(props, label)
	if err != nil {
		return "", nil, err
	}
	in, err := parseInputs(inputs)
	if err != nil {
		return "", nil, status.Errorf(codes.InvalidArgument, "%s: %v", label, err)
	}
	id := ""
	if in.path != "" {
		id = p.Resolve(in.path)
	}
	if !preview {
		if in.unknown {
			return "", nil, status.Errorf(codes.InvalidArgument, "%s: inputs are not known", label)
		}
		mode, _ := ParseMode(in.mode)
		if err := WriteFile(id, []byte(in.content), mode); err != nil {
			return "", nil, status.Errorf(codes.Unknown, "write %s: %v", id, err)
		}
	}
	out, err := marshal(outputs(inputs, in), label+".outputs")
	if err != nil {
		return "", nil, err
	}
	return id, out, nil
}

// Create writes the file. The ID is the absolute path, which Read and Delete
// use, so a later change of root cannot make the provider lose the file.
// During a preview nothing is written.
func (p *Provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	id, out, err := p.apply(req.GetProperties(), req.GetPreview(), "create")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
}

// Update rewrites the file with the new content and mode. During a preview
// nothing is written.
func (p *Provider) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	_, out, err := p.apply(req.GetNews(), req.GetPreview(), "update")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: out}, nil
}

// Read reports what is on disk now; it is what makes `pulumi refresh`
// detect drift. A missing file returns an empty ID, which the engine takes
// as "deleted outside Pulumi". Otherwise content, mode, sha256 and size come
// from the file, and the inputs are rewritten to match, so the next `up`
// diffs the program against the real file and puts the content back.
func (p *Provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	id := req.GetId()
	if id == "" {
		return &pulumirpc.ReadResponse{}, nil
	}
	state, err := unmarshal(req.GetProperties(), "read.properties")
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.GetInputs(), "read.inputs")
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(id)
	if errors.Is(err, fs.ErrNotExist) {
		return &pulumirpc.ReadResponse{}, nil
	}
	if err != nil {
		return nil, status.Errorf(codes.Unknown, "stat %s: %v", id, err)
	}
	if !info.Mode().IsRegular() {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is not a regular file", id)
	}
	data, err := os.ReadFile(id)
	if err != nil {
		return nil, status.Errorf(codes.Unknown, "read %s: %v", id, err)
	}
	// Protobuf strings must be UTF-8. A binary edit still shows up as drift
	// through sha256 and size, which are computed from the raw bytes.
	content := string(data)
	if !utf8.ValidString(content) {
		content = strings.ToValidUTF8(content, "\uFFFD")
	}
	secret := get(state, keyContent).secret || get(inputs, keyContent).secret
	contentV := wrap(resource.NewStringProperty(content), secret)
	modeV := resource.NewStringProperty(FormatMode(info.Mode()))

	// An import (no prior state) knows only the ID: the path is the ID.
	if len(inputs) == 0 {
		inputs = resource.PropertyMap{keyPath: resource.NewStringProperty(id)}
		if v := get(state, keyPath); v.present {
			inputs[keyPath] = state[keyPath]
		}
	}
	inputs = inputs.Copy()
	inputs[keyContent] = contentV
	inputs[keyMode] = modeV

	out := state.Copy()
	if _, ok := out[keyPath]; !ok {
		out[keyPath] = inputs[keyPath]
	}
	out[keyContent] = contentV
	out[keyMode] = modeV
	out[keySHA256] = resource.NewStringProperty(Digest(data))
	out[keySize] = resource.NewNumberProperty(float64(len(data)))

	props, err := marshal(out, "read.outputs")
	if err != nil {
		return nil, err
	}
	ins, err := marshal(inputs, "read.inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: id, Properties: props, Inputs: ins}, nil
}

// Delete removes the file. A file that is already gone is what Delete wants,
// so that is not an error; parent directories are left alone because other
// things may live in them.
func (p *Provider) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	if id := req.GetId(); id != "" {
		if err := os.Remove(id); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, status.Errorf(codes.Unknown, "delete %s: %v", id, err)
		}
	}
	return &emptypb.Empty{}, nil
}

// Cancel has nothing to stop: every operation is a quick local file call.
func (p *Provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}
