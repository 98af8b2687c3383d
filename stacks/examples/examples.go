// Package examples holds stacks that need no cloud provider: their
// resources are Pulumi component resources, so they run for real on the
// Pulumi engine with a local file backend and no plugins. Together they make
// a realistic demo deployment (a network, its security, a database and a
// bucket, an app using both, and its monitoring); Probe is a generic stack
// driven by its config, for building any graph in tests and benchmarks.
// Files is the exception: it manages real local files through the project's
// own localfile provider, so that drift can be shown and repaired.
package examples

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// All returns every example stack by name.
func All() map[string]kit.Stack {
	return map[string]kit.Stack{
		"demo-network":    Network,
		"demo-security":   Security,
		"demo-database":   Database,
		"demo-storage":    Storage,
		"demo-app":        App,
		"demo-monitoring": Monitoring,
		"probe":           Probe,
		"files":           Files,
	}
}

// Names returns the example stack names, sorted.
func Names() []string {
	var names []string
	for n := range All() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// component is a provider-free resource: a Pulumi component with outputs.
type component struct {
	pulumi.ResourceState
}

// newComponent registers a component resource of the given type with the
// given outputs, under parent (nil for the stack). The outputs are recorded
// as its inputs too, so that the engine, which has no provider to ask,
// previews a changed value as an update of the component (replicas 2 → 3
// is `~ update`, not `same`).
func newComponent(ctx *pulumi.Context, typ, name string, outputs pulumi.Map, parent pulumi.Resource) (*component, error) {
	c := &component{}
	var opts []pulumi.ResourceOption
	if parent != nil {
		opts = append(opts, pulumi.Parent(parent))
	}
	if err := ctx.RegisterComponentResourceV2("cloud:examples:"+typ, name, outputs, c, opts...); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(c, outputs); err != nil {
		return nil, err
	}
	return c, nil
}

// fakeID derives a stable, realistic-looking identifier, so that a redeploy
// with the same inputs yields the same outputs.
func fakeID(prefix string, parts ...any) string {
	h := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return prefix + "-" + hex.EncodeToString(h[:])[:12]
}

// resourceName is <deploymentId>-<stack>-<environment>-<purpose>, the
// naming rule of the stack library, so that the examples read like the real
// stacks. The Pulumi project starts with the deployment ID and the Pulumi
// stack is <stack>-<environment>.
func resourceName(ctx *pulumi.Context, purpose string) string {
	deployment, _, _ := strings.Cut(ctx.Project(), "-")
	return deployment + "-" + ctx.Stack() + "-" + purpose
}

func out(typ, desc string) protocol.Output { return protocol.Output{Type: typ, Description: desc} }
