package rest

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/document"

	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// doc is the part of the OpenAPI document these tests read.
type doc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]parameter `json:"parameters"`
		Schemas    map[string]schema    `json:"schemas"`
	} `json:"components"`
}

type parameter struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

type schema struct {
	Type                 any               `json:"type"`
	Enum                 []string          `json:"enum"`
	Required             []string          `json:"required"`
	Properties           map[string]schema `json:"properties"`
	AdditionalProperties any               `json:"additionalProperties"`
}

type operation struct {
	Parameters []parameter `json:"parameters"`
}

func loadDoc(t *testing.T) doc {
	t.Helper()
	b, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var d doc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// resolve follows a parameter's $ref.
func (d doc) resolve(t *testing.T, p parameter) parameter {
	if p.Ref == "" {
		return p
	}
	name := strings.TrimPrefix(p.Ref, "#/components/parameters/")
	got, ok := d.Components.Parameters[name]
	if !ok {
		t.Fatalf("unresolved parameter %s", p.Ref)
	}
	return got
}

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// TestRoutesMatchOpenAPI: every route of the table is in the document with
// the same path parameters and query parameters, and every operation of
// the document is a route.
func TestRoutesMatchOpenAPI(t *testing.T) {
	d := loadDoc(t)
	inDoc := map[string]bool{}
	for path, item := range d.Paths {
		var common []parameter
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &common); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range methods {
			raw, ok := item[m]
			if !ok {
				continue
			}
			key := strings.ToUpper(m) + " " + path
			inDoc[key] = true
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			var pathParams, queryParams []string
			for _, p := range append(slices.Clone(common), op.Parameters...) {
				switch p = d.resolve(t, p); p.In {
				case "path":
					pathParams = append(pathParams, p.Name)
				case "query":
					queryParams = append(queryParams, p.Name)
				}
			}
			rt, ok := findRoute(strings.ToUpper(m), path)
			if !ok {
				t.Errorf("%s is in openapi.yaml but not a route", key)
				continue
			}
			if got, want := sorted(pathParams), sorted(wildcards(rt.Path)); !slices.Equal(got, want) {
				t.Errorf("%s: path parameters %v in the document, %v in the route", key, got, want)
			}
			if got, want := sorted(queryParams), sorted(rt.Query); !slices.Equal(got, want) {
				t.Errorf("%s: query parameters %v in the document, %v in the route", key, got, want)
			}
		}
	}
	seen := map[string]bool{}
	for _, rt := range routeTable {
		key := rt.Method + " " + rt.Path
		if seen[key] {
			t.Errorf("route %s is declared twice", key)
		}
		seen[key] = true
		if !inDoc[key] {
			t.Errorf("route %s is not in openapi.yaml", key)
		}
	}
}

func findRoute(method, path string) (route, bool) {
	for _, rt := range routeTable {
		if rt.Method == method && rt.Path == path {
			return rt, true
		}
	}
	return route{}, false
}

var wildcard = regexp.MustCompile(`\{([^}]+)\}`)

func wildcards(path string) []string {
	var out []string
	for _, m := range wildcard.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	if s == nil {
		s = []string{}
	}
	return s
}

// TestOpenAPIDocumentIsValid checks the document against the OpenAPI 3.1
// specification's schema, and that yamlToJSON kept what it was given.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	b, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	d, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatalf("build validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s (%s): %s", se.FieldPath, se.KeywordLocation, se.Reason)
			}
		}
	}
	if !strings.HasPrefix(string(b), `{"openapi":"3.1.0"`) {
		t.Errorf("the document does not start with its version: %.40s", b)
	}
}

// schemaTypes are the Go types REST encodes, by the name of their schema.
var schemaTypes = map[string]any{
	"Deployment":         model.Deployment{},
	"Environment":        model.Environment{},
	"StackState":         model.StackState{},
	"Output":             model.Output{},
	"ManifestRevision":   model.ManifestRevision{},
	"ManifestChange":     model.ManifestChange{},
	"EnvironmentChange":  model.EnvironmentChange{},
	"Operation":          model.Operation{},
	"OperationStack":     model.OperationStack{},
	"Event":              model.Event{},
	"Plan":               model.Plan{},
	"PlanStack":          model.PlanStack{},
	"StackTemplate":      model.StackTemplate{},
	"StackInput":         model.StackInput{},
	"StackOutput":        model.StackOutput{},
	"DeploymentTemplate": model.DeploymentTemplate{},
	"Validation":         model.Validation{},
	"Finding":            model.Finding{},
	"StackValidation":    model.StackValidation{},
	"StackFinding":       model.StackFinding{},
	"LockState":          LockState{},
	"EventPage":          document.EventPage{},
	"DeploymentPage":     document.Page[*model.Deployment]{},
	"Problem":            Problem{},
	"ProblemDetail":      ProblemDetail{},
	"SyncStatus":         model.SyncStatus{},
	"SyncRun":            model.SyncRun{},
	"SyncConflict":       model.SyncConflict{},
	"SyncVersion":        model.SyncVersion{},
	"SyncFieldDiff":      model.SyncFieldDiff{},
	"SyncConflictList":   document.Page[*model.SyncConflict]{},
	"TeamLock":           model.TeamLock{},
	"TeamLease":          model.TeamLease{},
	"BrokenTeamLock":     BrokenTeamLock{},
	"GraphCheck":         model.GraphCheck{},
	"GraphCheckList":     document.Page[*model.GraphCheck]{},
	"PulumiAccess":       model.PulumiAccess{},
	"AWSIdentity":        model.AWSIdentity{},
	"BuildInfo":          model.BuildInfo{},
	// Request bodies.
	"InitDeploymentInput":   createDeploymentBody{},
	"EnvironmentAccount":    model.EnvironmentAccount{},
	"YAMLDocument":          yamlBody{},
	"ConfigInput":           configBody{},
	"EnableInput":           enableBody{},
	"DisableInput":          disableBody{},
	"LockInput":             lockBody{},
	"StackOperationOptions": stackOptions{},
	"OperationOptions":      operationOptions{},
	"RollbackInput":         rollbackBody{},
	"RegisterStackInput":    registerBody{},
	"UpdateStackInput":      updateStackBody{},
	"CreateTemplateInput":   createTemplateBody{},
	"SyncRunInput":          syncRunBody{},
	"ResolveConflictInput":  resolveBody{},
}

// excluded are the fields of the models that GraphQL resolves lazily and
// the schema keeps out of their JSON (@goTag json "-"): REST has no field
// selection and leaves them out.
var excluded = map[string][]string{
	"Deployment":  {"environment", "manifest", "revisions", "operations"},
	"Environment": {"outputs"},
	"Operation":   {"events"},
}

// TestSchemasMatchTypes compares each schema's properties with the JSON
// fields of the Go type it describes: same names, and the required ones
// are those always present (no omitempty) in responses. Request bodies
// have their own rules for required fields, so only the names are
// compared for them.
func TestSchemasMatchTypes(t *testing.T) {
	d := loadDoc(t)
	for name, v := range schemaTypes {
		s, ok := d.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s in openapi.yaml", name)
			continue
		}
		fields, always := jsonShape(reflect.TypeOf(v))
		fields = slices.DeleteFunc(fields, func(f string) bool { return slices.Contains(excluded[name], f) })
		always = slices.DeleteFunc(always, func(f string) bool { return slices.Contains(excluded[name], f) })
		props := make([]string, 0, len(s.Properties))
		for p := range s.Properties {
			props = append(props, p)
		}
		if got, want := sorted(props), sorted(fields); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v; the Go type has %v", name, got, want)
		}
		if strings.HasSuffix(reflect.TypeOf(v).Name(), "Body") || strings.HasSuffix(name, "Input") ||
			strings.HasSuffix(name, "Options") || name == "EnvironmentAccount" || name == "YAMLDocument" {
			continue
		}
		if got, want := sorted(s.Required), sorted(always); !slices.Equal(got, want) {
			t.Errorf("schema %s requires %v; the Go type always has %v", name, got, want)
		}
		if name != "Problem" && s.AdditionalProperties != false {
			t.Errorf("schema %s should say additionalProperties: false", name)
		}
	}
}

// jsonShape lists a struct's JSON field names, and those encoded always.
func jsonShape(t reflect.Type) (fields, always []string) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			inner, innerAlways := jsonShape(f.Type)
			fields, always = append(fields, inner...), append(always, innerAlways...)
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields = append(fields, name)
		if !strings.Contains(opts, "omitempty") {
			always = append(always, name)
		}
	}
	return fields, always
}

// TestEnumsMatchModel: the document's enums are the vocabulary's, as
// stored (the GraphQL schema's enums are bound to the same types).
func TestEnumsMatchModel(t *testing.T) {
	d := loadDoc(t)
	// unlock records a broken team lock; neither the GraphQL enum nor the
	// document lists it yet.
	kinds := slices.DeleteFunc(slices.Clone(vocab.Kinds), func(k vocab.Kind) bool { return k == vocab.KindUnlock })
	enums := map[string][]string{
		"OperationKind":     strs(kinds),
		"OperationStatus":   strs(vocab.OperationStatuses),
		"StackStatus":       strs(vocab.StackStatuses),
		"EnvironmentStatus": strs(vocab.DeploymentStatuses),
		"SyncMode":          strs(model.AllSyncMode),
		"ConflictKeep":      strs(model.AllConflictKeep),
	}
	for name, want := range enums {
		if got := d.Components.Schemas[name].Enum; !slices.Equal(got, want) {
			t.Errorf("enum %s: %v in openapi.yaml, %v in the schema", name, got, want)
		}
	}
	var codes []string
	for code := range titles {
		codes = append(codes, code)
	}
	if got, want := sorted(d.Components.Schemas["Problem"].Properties["code"].Enum), sorted(codes); !slices.Equal(got, want) {
		t.Errorf("problem codes %v in openapi.yaml, %v in problem.go", got, want)
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
