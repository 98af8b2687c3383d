package kit

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Inputs gives a program its typed configuration. Declared defaults apply
// to missing values; a missing required input or a value of the wrong type
// is an error naming the input. Every read is recorded, so validation can
// compare what a program reads with what it declares.
type Inputs struct {
	tmpl   protocol.Template
	values map[string]protocol.Value

	where protocol.Context
	done  <-chan struct{}

	mu   sync.Mutex
	read map[string]bool
	errs []error
}

// NewInputs returns the inputs of a program run with the given config.
func NewInputs(tmpl protocol.Template, config map[string]protocol.Value) *Inputs {
	return &Inputs{tmpl: tmpl, values: config, read: map[string]bool{}}
}

// WithContext sets the context the program runs in and returns in.
func (in *Inputs) WithContext(c protocol.Context) *Inputs {
	in.where = c
	return in
}

// Done is closed when the run is asked to stop (the operation was
// cancelled, or the runner was signalled). Pulumi's cancellation is
// graceful: it lets a running program finish, so a program that waits on
// something slow of its own must also wait on Done. Under validation it
// never closes.
func (in *Inputs) Done() <-chan struct{} { return in.done }

// withDone sets the channel Done returns.
func (in *Inputs) withDone(done <-chan struct{}) *Inputs {
	in.done = done
	return in
}

// Context returns the standard inputs every stack gets from cloud: the
// deployment, organization, project, environment, region and the stack's
// own name. They are not declared in a template and reading them is not
// recorded.
func (in *Inputs) Context() protocol.Context { return in.where }

// Keys returns the names of every input given, sorted.
func (in *Inputs) Keys() []string {
	keys := make([]string, 0, len(in.values))
	for k := range in.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Read returns an input's raw value and whether it is set (given or
// defaulted), and records the read.
func (in *Inputs) Read(name string) (protocol.Value, bool) {
	in.mu.Lock()
	in.read[name] = true
	in.mu.Unlock()
	if v, ok := in.values[name]; ok && v.Value != nil {
		if decl, ok := in.tmpl.Inputs[name]; ok && decl.Secret {
			v.Secret = true
		}
		return v, true
	}
	decl, ok := in.tmpl.Inputs[name]
	if ok && decl.Default != nil {
		return protocol.Value{Value: decl.Default, Secret: decl.Secret}, true
	}
	if ok && decl.Required {
		in.fail(fmt.Errorf("input %q is required", name))
	}
	return protocol.Value{}, false
}

func (in *Inputs) fail(err error) {
	in.mu.Lock()
	in.errs = append(in.errs, err)
	in.mu.Unlock()
}

// Err returns the first problem met while reading inputs.
func (in *Inputs) Err() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.errs) == 0 {
		return nil
	}
	return in.errs[0]
}

// ReadNames returns the inputs the program read, sorted.
func (in *Inputs) ReadNames() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	names := make([]string, 0, len(in.read))
	for k := range in.read {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// String returns a string input ("" when unset).
func (in *Inputs) String(name string) string {
	v, ok := in.Read(name)
	if !ok {
		return ""
	}
	switch s := v.Value.(type) {
	case string:
		return s
	case float64, bool:
		return fmt.Sprint(s)
	}
	in.fail(fmt.Errorf("input %q: want a string, got %T", name, v.Value))
	return ""
}

// Number returns a numeric input (0 when unset).
func (in *Inputs) Number(name string) float64 {
	v, ok := in.Read(name)
	if !ok {
		return 0
	}
	switch n := v.Value.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case json.Number:
		f, err := n.Float64()
		if err == nil {
			return f
		}
	}
	in.fail(fmt.Errorf("input %q: want a number, got %T", name, v.Value))
	return 0
}

// Int returns a numeric input as an int.
func (in *Inputs) Int(name string) int { return int(in.Number(name)) }

// Bool returns a boolean input (false when unset).
func (in *Inputs) Bool(name string) bool {
	v, ok := in.Read(name)
	if !ok {
		return false
	}
	if b, ok := v.Value.(bool); ok {
		return b
	}
	in.fail(fmt.Errorf("input %q: want a boolean, got %T", name, v.Value))
	return false
}

// StringList returns a list input whose items are strings.
func (in *Inputs) StringList(name string) []string {
	v, ok := in.Read(name)
	if !ok {
		return nil
	}
	items, ok := v.Value.([]any)
	if !ok {
		in.fail(fmt.Errorf("input %q: want a list, got %T", name, v.Value))
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			in.fail(fmt.Errorf("input %q[%d]: want a string, got %T", name, i, it))
			continue
		}
		out = append(out, s)
	}
	return out
}

// Any returns an input's value as decoded from JSON (nil when unset).
func (in *Inputs) Any(name string) any {
	v, _ := in.Read(name)
	return v.Value
}

// Secret returns an input as a secret Pulumi output, so the value stays
// encrypted in the state and masked in logs.
func (in *Inputs) Secret(name string) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.String(in.String(name))).(pulumi.StringOutput)
}

// IsSecret reports whether an input was given as a secret.
func (in *Inputs) IsSecret(name string) bool {
	v, ok := in.values[name]
	return ok && v.Secret
}
