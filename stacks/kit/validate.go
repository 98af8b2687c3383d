package kit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// resolveTimeout bounds how long Validate waits for an exported value to
// resolve after the program returned. Under mocks every value is known, so
// only a value that can never resolve (an unknown) waits this long.
const resolveTimeout = 5 * time.Second

// serveValidate answers the "validate" request: an optional JSON Request on
// stdin (only its config is used), the Validation as one JSON line on
// stdout. It returns 1 when the program failed, so a caller that only looks
// at the exit code still notices; the Validation is printed either way.
func serveValidate(s Stack, stdin io.Reader, stdout, stderr io.Writer) int {
	var req protocol.Request
	body, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "read validate request: %v\n", err)
		return 2
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			fmt.Fprintf(stderr, "read validate request: %v\n", err)
			return 2
		}
	}
	v := Validate(s, req.Config)
	if err := json.NewEncoder(stdout).Encode(v); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if v.Error != "" {
		return 1
	}
	return 0
}

// SampleConfig returns the config a validation runs with: every declared
// input's default, or its example, or a typed sample when it has neither
// (so that a program that requires an input still runs), overridden by the
// given values.
func SampleConfig(tmpl protocol.Template, given map[string]protocol.Value) map[string]protocol.Value {
	config := make(map[string]protocol.Value, len(tmpl.Inputs)+len(given))
	for name, decl := range tmpl.Inputs {
		v := decl.Default
		if v == nil {
			v = decl.Example
		}
		if v == nil {
			v = SampleValue(decl.Type)
		}
		config[name] = protocol.Value{Value: v, Secret: decl.Secret}
	}
	for name, v := range given {
		config[name] = v
	}
	return config
}

// SampleValue is the stand-in value of an input of type typ that has no
// default, shaped like what JSON decoding would give the program.
func SampleValue(typ string) any {
	switch typ {
	case protocol.TypeNumber:
		return 1.0
	case protocol.TypeBoolean:
		return true
	case protocol.TypeArray:
		return []any{"sample"}
	case protocol.TypeObject:
		return map[string]any{}
	default:
		return "sample"
	}
}

// Validate runs the stack's program under Pulumi's unit-test mocks with
// SampleConfig(s.Template, config) and reports which inputs it read and what
// it exported. No engine and no cloud are involved, so it is safe and fast
// enough to run on every registration.
func Validate(s Stack, config map[string]protocol.Value) protocol.Validation {
	var mocks pulumi.MockResourceMonitor = validateMocks{}
	if s.Mocks != nil {
		mocks = s.Mocks
	}
	return RunMocked(s, SampleConfig(s.Template, config), protocol.SampleContext(s.Template.Name), mocks).Validation
}

// Trial is one run of a program under mocks: what Validate reports, and
// the exported values themselves.
type Trial struct {
	Validation protocol.Validation
	// Values are the resolved exported values, by output name.
	Values map[string]any
}

// RunMocked runs the stack's program once under the given mocks with
// exactly the given config (declared defaults apply to what is missing) in
// the context c. Stack unit tests use it with mocks that record every
// resource the program registers.
func RunMocked(s Stack, config map[string]protocol.Value, c protocol.Context, mocks pulumi.MockResourceMonitor) (t Trial) {
	v := protocol.Validation{InputsRead: []string{}, Outputs: map[string]protocol.ValidationOutput{}}
	t.Values = map[string]any{}
	in := NewInputs(s.Template, config).WithContext(c)
	var out *Outputs
	defer func() {
		// A panicking program is a failed validation, not a crashed runner.
		if r := recover(); r != nil {
			v.Error = fmt.Sprintf("program panicked: %v", r)
			v.InputsRead = in.ReadNames()
		}
		t.Validation = v
	}()

	program := func(ctx *pulumi.Context) error {
		out = NewOutputs(ctx, s.Template)
		if err := s.Program(ctx, in, out); err != nil {
			return err
		}
		return in.Err()
	}
	project, stack := c.DeploymentID, c.Stack+"-"+c.Environment
	if project == "" {
		project = "validate"
	}
	if c.Stack == "" {
		stack = "stack-validate"
	}
	err := pulumi.RunErr(program, pulumi.WithMocks(project, stack, mocks))
	v.InputsRead = in.ReadNames()
	if err != nil {
		v.Error = err.Error()
	}
	if out != nil {
		v.Outputs, t.Values = resolveOutputs(out)
	}
	return t
}

// resolveOutputs waits for every exported value and describes it. A value
// that does not resolve in time gets the type "unknown".
func resolveOutputs(o *Outputs) (map[string]protocol.ValidationOutput, map[string]any) {
	o.mu.Lock()
	values := make(map[string]pulumi.Input, len(o.values))
	for k, val := range o.values {
		values[k] = val
	}
	o.mu.Unlock()

	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)

	var mu sync.Mutex
	resolved := map[string]any{}
	dones := map[string]chan struct{}{}
	outputs := map[string]pulumi.Output{}
	for _, name := range names {
		o := pulumi.ToOutput(values[name])
		done := make(chan struct{})
		outputs[name], dones[name] = o, done
		pulumi.All(o).ApplyT(func(xs []any) (any, error) {
			mu.Lock()
			resolved[name] = xs[0]
			mu.Unlock()
			close(done)
			return nil, nil
		})
	}

	res := make(map[string]protocol.ValidationOutput, len(names))
	vals := make(map[string]any, len(names))
	// One deadline for all: once it has passed, outputs not resolved by
	// then are unknown at once (a value that never resolves must not make
	// the next one wait a whole timeout more, or forever).
	deadline := time.NewTimer(resolveTimeout)
	defer deadline.Stop()
	expired := false
	for _, name := range names {
		ready := false
		if expired {
			select {
			case <-dones[name]:
				ready = true
			default:
			}
		} else {
			select {
			case <-dones[name]:
				ready = true
			case <-deadline.C:
				expired = true
			}
		}
		if !ready {
			res[name] = protocol.ValidationOutput{Type: "unknown"}
			continue
		}
		mu.Lock()
		val := resolved[name]
		mu.Unlock()
		res[name] = protocol.ValidationOutput{Type: TypeOf(val), Secret: pulumi.IsSecret(outputs[name])}
		vals[name] = val
	}
	return res, vals
}

// TypeOf names the template type of a Go value as a program exports it:
// string, number, boolean, array or object ("" for nil).
func TypeOf(v any) string {
	if v == nil {
		return ""
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return ""
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.String:
		return protocol.TypeString
	case reflect.Bool:
		return protocol.TypeBoolean
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return protocol.TypeNumber
	case reflect.Slice, reflect.Array:
		return protocol.TypeArray
	default:
		return protocol.TypeObject
	}
}

// validateMocks stands in for the Pulumi engine and every provider:
// resources echo their inputs as outputs, with an ID derived from the name,
// and invokes echo their arguments, which is enough for a program to run to
// its exports.
type validateMocks struct{}

func (validateMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return args.Name + "_id", args.Inputs, nil
}

func (validateMocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}
