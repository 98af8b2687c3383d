// Package protocol defines what a stack program and the orchestrator say to
// each other. A stack binary answers two requests: "describe" prints its
// Template as JSON; "run" reads one Request as JSON on stdin and writes
// Messages as JSON lines on stdout, the last one carrying the Result.
//
// The package has no dependencies beyond the standard library so that both
// sides — the cloud binary and every stack binary — can share it without
// pulling the Pulumi SDK into the orchestrator.
package protocol

import "time"

// Operation names a Pulumi operation a runner can perform.
type Operation string

// The operations of the run request.
const (
	Up      Operation = "up"
	Preview Operation = "preview"
	Destroy Operation = "destroy"
	// Refresh compares the state with the real resources (a Pulumi refresh
	// preview) and reports drift in Result.Drift; it changes nothing.
	Refresh Operation = "refresh"
)

// Value types of inputs and outputs.
const (
	TypeString  = "string"
	TypeNumber  = "number"
	TypeBoolean = "boolean"
	TypeObject  = "object"
	TypeArray   = "array"
)

// Template is what a stack declares about itself: its default dependencies,
// the inputs it reads and the outputs it exports.
type Template struct {
	Name         string            `json:"name"`
	Description  string            `json:"description,omitempty"`
	Dependencies []string          `json:"dependencies,omitempty"`
	Inputs       map[string]Input  `json:"inputs,omitempty"`
	Outputs      map[string]Output `json:"outputs,omitempty"`
	// AnyInputs is set by generic stacks (the probe) that accept inputs
	// they do not declare.
	AnyInputs bool `json:"anyInputs,omitempty"`
	// AnyOutputs is set by a project stack whose outputs cannot be known
	// before it deploys (no declaration, a runtime other than YAML): any
	// output name is accepted until a deploy records what it exported.
	AnyOutputs bool `json:"anyOutputs,omitempty"`
	// Project is set for a project stack: an existing Pulumi project
	// directory run with its own runtime (see package stacks/project).
	Project *Project `json:"project,omitempty"`
}

// Project says which Pulumi project directory a project stack runs.
type Project struct {
	// Name is the Pulumi project's name, its config namespace.
	Name string `json:"name"`
	// Runtime is the project's language runtime: yaml, nodejs, python, go,
	// dotnet, java.
	Runtime string `json:"runtime"`
	// Dir is the project's absolute directory.
	Dir string `json:"dir"`
}

// Input describes one configuration value a stack reads.
type Input struct {
	Type        string `json:"type"`
	Required    bool   `json:"required,omitempty"`
	Secret      bool   `json:"secret,omitempty"`
	Default     any    `json:"default,omitempty"`
	Description string `json:"description,omitempty"`
	// Example is a realistic value of an input that has no default (a VPC
	// ID, a subnet list); validation runs the program with it, and the
	// documentation shows it.
	Example any `json:"example,omitempty"`
}

// Output describes one value a stack exports.
type Output struct {
	Type        string `json:"type"`
	Secret      bool   `json:"secret,omitempty"`
	Description string `json:"description,omitempty"`
	// Recorded marks an output of a project stack that a deploy exported
	// and no declaration named: its type is what the deploy produced.
	Recorded bool `json:"recorded,omitempty"`
}

// Value is a typed configuration or output value with its secret flag.
type Value struct {
	Value  any  `json:"value"`
	Secret bool `json:"secret,omitempty"`
}

// Request asks a runner to perform one Pulumi operation on one stack.
type Request struct {
	Operation Operation `json:"operation"`
	// Project and Stack are the Pulumi project and stack names.
	Project string `json:"project"`
	Stack   string `json:"stack"`
	// Backend is the Pulumi state backend URL (file://…, s3://…).
	Backend string `json:"backend"`
	// WorkDir is the Automation API workspace of this stack; every stack
	// that may run concurrently gets its own.
	WorkDir string `json:"workDir"`
	// PulumiHome is where the Pulumi CLI keeps plugins and credentials.
	PulumiHome string `json:"pulumiHome,omitempty"`
	// PulumiCommand is the path of the Pulumi CLI; empty means PATH.
	PulumiCommand string `json:"pulumiCommand,omitempty"`
	// Config holds the stack's resolved inputs.
	Config map[string]Value `json:"config"`
	// ClearLock removes a lock left by an interrupted run of this stack
	// before starting (file backends only).
	ClearLock bool `json:"clearLock,omitempty"`
	// RefreshFirst makes an up refresh the state from the real resources
	// first, so that it repairs drift found earlier.
	RefreshFirst bool `json:"refreshFirst,omitempty"`
	// Context says where the stack runs.
	Context Context `json:"context"`
}

// Context is what the orchestrator tells every stack about where it runs:
// the standard inputs of the stack library, given by cloud and never
// declared by a stack. Stacks name and tag their resources with it.
type Context struct {
	DeploymentID string `json:"deploymentId"`
	Organization string `json:"organization"`
	Project      string `json:"project"`
	Environment  string `json:"environment"`
	// Region and AccountID are the environment's; AccountID may be empty.
	Region    string `json:"region"`
	AccountID string `json:"accountId,omitempty"`
	// Stack is the stack's name in the deployment (not its program's).
	Stack  string `json:"stack"`
	Domain string `json:"domain,omitempty"`
}

// SampleContext is the context a validation under mocks runs with.
func SampleContext(stack string) Context {
	return Context{DeploymentID: "d0sample", Organization: "acme", Project: "web",
		Environment: "dev", Region: "us-east-1", AccountID: "123456789012", Stack: stack, Domain: "example.com"}
}

// Message kinds.
const (
	KindEvent  = "event"
	KindLog    = "log"
	KindResult = "result"
)

// Message is one line of a runner's output.
type Message struct {
	Kind   string    `json:"kind"`
	Time   time.Time `json:"time"`
	Event  *Event    `json:"event,omitempty"`
	Log    *Log      `json:"log,omitempty"`
	Result *Result   `json:"result,omitempty"`
}

// Engine event types, a compact view of Pulumi's engine events.
const (
	EventResourcePre    = "resource.pre"
	EventResourceDone   = "resource.done"
	EventResourceFailed = "resource.failed"
	EventDiagnostic     = "diagnostic"
	EventSummary        = "summary"
)

// Event is one Pulumi engine event.
type Event struct {
	Type     string `json:"type"`
	URN      string `json:"urn,omitempty"`
	Resource string `json:"resource,omitempty"` // resource type token
	Name     string `json:"name,omitempty"`     // resource name (last URN part)
	Op       string `json:"op,omitempty"`       // create, update, delete, same, replace, …
	// Diffs names the top-level properties an update or replacement
	// changes (resource.pre), so a preview says what will change, not
	// only that something will. Names only: values may be secret.
	Diffs []string `json:"diffs,omitempty"`
	// Millis is how long a resource operation took (resource.done/failed).
	Millis   int64          `json:"millis,omitempty"`
	Severity string         `json:"severity,omitempty"` // diagnostics: info, warning, error
	Message  string         `json:"message,omitempty"`
	Changes  map[string]int `json:"changes,omitempty"` // summary
}

// Drift is one resource whose real state differs from Pulumi's record.
type Drift struct {
	URN      string `json:"urn"`
	Resource string `json:"resource"` // type token
	Name     string `json:"name"`
	// Op is what the refresh would record: update (changed) or delete
	// (gone).
	Op string `json:"op"`
	// Diffs names the properties that differ (for an update).
	Diffs []string `json:"diffs,omitempty"`
}

// Log is a line of text from the runner or the program.
type Log struct {
	Level string `json:"level"`
	Text  string `json:"text"`
}

// Result is the final message of a run.
type Result struct {
	Outputs map[string]Value `json:"outputs,omitempty"`
	// Changes counts resource operations by kind (create, update, delete,
	// same, replace).
	Changes map[string]int `json:"changes,omitempty"`
	// ResourceCount is how many resources the stack has after the run,
	// the Pulumi stack resource itself not included.
	ResourceCount int    `json:"resourceCount"`
	Error         string `json:"error,omitempty"`
	// Interrupted is set, with Error, when the Pulumi engine died (killed
	// by a signal) rather than finishing: the stack may hold part of an
	// update, so it is interrupted, not failed.
	Interrupted bool `json:"interrupted,omitempty"`
	// Drift lists the resources a refresh found changed outside Pulumi.
	Drift []Drift `json:"drift,omitempty"`
	// InputsRead and OutputsExported are what the program actually did,
	// for validate-stack.
	InputsRead      []string `json:"inputsRead,omitempty"`
	OutputsExported []string `json:"outputsExported,omitempty"`
}

// Validate is the third request of the runner protocol, next to "describe"
// and "run": the program runs under Pulumi's unit-test mocks (no engine, no
// cloud) with sample values for its inputs, and reports what it read and
// exported, so validate-stack can compare that with the template without
// deploying anything.
const Validate = "validate"

// Validation is what a program prints for the "validate" request: the
// inputs it read, the outputs it exported (with the type and secret flag of
// the exported value) and the error of the program, if it failed.
type Validation struct {
	InputsRead []string                    `json:"inputsRead"`
	Outputs    map[string]ValidationOutput `json:"outputs"`
	Error      string                      `json:"error,omitempty"`
	// Note says what the validation could not check (a project stack whose
	// program is not run by validation); it becomes a warning.
	Note string `json:"note,omitempty"`
}

// ValidationOutput is the type (string, number, boolean, array, object) and
// secret flag of one exported value, as the program produced it under mocks.
type ValidationOutput struct {
	Type   string `json:"type"`
	Secret bool   `json:"secret,omitempty"`
}
