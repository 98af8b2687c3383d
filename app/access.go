package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/cloudplatform/cloud/engine/runner"
)

// AWSIdentity is who the default credential chain says the caller is.
type AWSIdentity struct {
	Account string `json:"account"`
	ARN     string `json:"arn"`
	UserID  string `json:"userId"`
	Region  string `json:"region"`
}

// CheckAWSAccess resolves credentials with the AWS SDK's default chain
// (environment, shared files and profile, SSO, container and instance
// roles) and asks STS who they belong to. It gives up after timeout, so a
// machine with no network answers quickly.
func CheckAWSAccess(ctx context.Context, profile string, timeout time.Duration) (*AWSIdentity, error) {
	if err := authorize(ctx, accessPreview, "check AWS access", nil); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRetryMaxAttempts(1)}
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("no AWS credentials found (environment variables, shared config and credentials files, SSO, container or instance role): %s", awsReason(ctx, err))
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("credentials found, but STS did not confirm them: %s", awsReason(ctx, err))
	}
	return &AWSIdentity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn),
		UserID: aws.ToString(out.UserId), Region: cfg.Region}, nil
}

func awsReason(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "no answer in time (is there a network?)"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i < 200 {
		return msg[i+2:]
	}
	return msg
}

// PulumiAccess is what `validate pulumi-access` found.
type PulumiAccess struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Backend string `json:"backend"`
	// Writable is set when the backend accepted a write (file backends) or a
	// login check (others).
	Writable bool `json:"writable"`
}

// CheckPulumiAccess finds the Pulumi CLI, reads its version, and checks that
// the state backend of deployment id (the home's file backend when id is
// empty) is reachable and writable.
func (a *App) CheckPulumiAccess(ctx context.Context, id string) (*PulumiAccess, error) {
	if err := authorize(ctx, accessPreview, "check Pulumi access", nil); err != nil {
		return nil, err
	}
	path, err := runner.FindPulumi(a.cfg.Pulumi, a.cfg.ToolsDirs...)
	if err != nil {
		return nil, err
	}
	res := &PulumiAccess{Path: path}
	vctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(vctx, path, "version")
	cmd.Env = append(os.Environ(), "PULUMI_SKIP_UPDATE_CHECK=true")
	out, err := cmd.Output()
	if err != nil {
		return res, fmt.Errorf("run %s version: %w", path, err)
	}
	res.Version = strings.TrimSpace(string(out))
	backend := a.backendURL("")
	if id != "" {
		m, _, err := a.Manifest(ctx, id)
		if err != nil {
			return res, err
		}
		backend = a.backendURL(m.Backend)
	}
	res.Backend = backend
	if strings.HasPrefix(backend, "file://") {
		u, err := url.Parse(backend)
		if err != nil {
			return res, fmt.Errorf("backend %s: %w", backend, err)
		}
		dir := filepath.FromSlash(u.Host + u.Path)
		f, err := os.CreateTemp(dir, ".cloud-write-check-*")
		if err != nil {
			return res, fmt.Errorf("backend %s is not writable: %w", backend, err)
		}
		f.Close()
		os.Remove(f.Name())
		res.Writable = true
		return res, nil
	}
	pass, err := a.passphrase()
	if err != nil {
		return res, err
	}
	who := exec.CommandContext(vctx, path, "whoami", "--non-interactive")
	who.Env = append(os.Environ(), "PULUMI_SKIP_UPDATE_CHECK=true", "PULUMI_BACKEND_URL="+backend, "PULUMI_CONFIG_PASSPHRASE="+pass,
		"PULUMI_HOME="+filepath.Join(a.cfg.Home, "pulumi"))
	if out, err := who.CombinedOutput(); err != nil {
		return res, fmt.Errorf("backend %s: %s", backend, strings.TrimSpace(string(out)))
	}
	res.Writable = true
	return res, nil
}

// GraphCheck is one environment's dependency graph, or why it has none.
type GraphCheck struct {
	Environment string     `json:"environment"`
	Layers      [][]string `json:"layers,omitempty"`
	Error       string     `json:"error,omitempty"`
}

// ValidateDependencies builds the dependency graph of every environment:
// unknown and disabled dependencies, placeholder dependencies, cycles.
func (a *App) ValidateDependencies(ctx context.Context, id string) ([]GraphCheck, error) {
	m, _, err := a.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []GraphCheck
	for _, e := range m.EnvironmentNames() {
		p, err := a.Plan(ctx, id, e)
		if err != nil {
			out = append(out, GraphCheck{Environment: e, Error: err.Error()})
			continue
		}
		out = append(out, GraphCheck{Environment: e, Layers: p.Graph.LayerList()})
	}
	return out, nil
}

// BuildInfo is the build of the running cloud.
type BuildInfo struct {
	Version  string `json:"version"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// Version returns the build of the running cloud (Config.Version, dev
// when unset).
func (a *App) Version() BuildInfo { return Build(a.cfg.Version) }

// Build returns the build info of a binary of version (dev when empty).
func Build(version string) BuildInfo {
	if version == "" {
		version = "dev"
	}
	return BuildInfo{Version: version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}
