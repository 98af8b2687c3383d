package kit

import (
	"sort"
	"sync"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Outputs exports a program's outputs. Outputs the template declares secret
// are exported as secrets whatever the program passes.
type Outputs struct {
	ctx  *pulumi.Context
	tmpl protocol.Template

	mu       sync.Mutex
	exported map[string]bool
	// values keeps what was exported, so the validate request can resolve
	// the values and report their types.
	values map[string]pulumi.Input
}

// NewOutputs returns the exporter of a program run.
func NewOutputs(ctx *pulumi.Context, tmpl protocol.Template) *Outputs {
	return &Outputs{ctx: ctx, tmpl: tmpl, exported: map[string]bool{}, values: map[string]pulumi.Input{}}
}

// Export exports one output.
func (o *Outputs) Export(name string, value pulumi.Input) {
	o.mu.Lock()
	o.exported[name] = true
	o.mu.Unlock()
	if decl, ok := o.tmpl.Outputs[name]; ok && decl.Secret {
		value = pulumi.ToSecret(value)
	}
	o.mu.Lock()
	o.values[name] = value
	o.mu.Unlock()
	o.ctx.Export(name, value)
}

// Names returns the outputs exported so far, sorted.
func (o *Outputs) Names() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	names := make([]string, 0, len(o.exported))
	for k := range o.exported {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
