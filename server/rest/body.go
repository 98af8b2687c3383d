package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/cloudplatform/cloud/graph"
)

// MaxBodyBytes is the largest request body accepted (1 MiB): a manifest or
// template is a few kilobytes, and an unbounded body would let one request
// fill the server's memory.
const MaxBodyBytes = 1 << 20

// mediaType is the request's Content-Type without parameters, "" when
// there is none.
func mediaType(r *http.Request) (string, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", &problemError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMediaType,
			field: "Content-Type", detail: fmt.Sprintf("Content-Type %q is not a media type: %v", clip(ct), err)}
	}
	return mt, nil
}

func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

func isYAML(mt string) bool {
	switch mt {
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return true
	}
	return false
}

// readBody reads the whole body, refusing more than MaxBodyBytes with a 413.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	b, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &problemError{status: http.StatusRequestEntityTooLarge, code: CodePayloadTooLarge, field: "body",
			detail: fmt.Sprintf("the request body exceeds %d bytes", tooLarge.Limit)}
	}
	if err != nil {
		return nil, inputErrorf("body", "could not be read: %v", err)
	}
	return b, nil
}

// checker is a request body that checks its own fields after decoding
// (required fields, ranges), naming the field in its error.
type checker interface{ check() error }

// decodeJSON decodes a JSON object body into dst. An empty body leaves dst
// as it is unless required. A Content-Type, when given, must be JSON.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, required bool) error {
	mt, err := mediaType(r)
	if err != nil {
		return err
	}
	if mt != "" && !isJSON(mt) {
		return &problemError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMediaType, field: "Content-Type",
			detail: fmt.Sprintf("this route reads application/json, not %s", mt)}
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSONBytes(b, dst, required)
}

// decodeJSONBytes decodes one JSON object into dst: unknown fields are
// errors (a misspelt option silently ignored would run something else than
// what was asked), as is anything after the object. Errors name the field.
func decodeJSONBytes(b []byte, dst any, required bool) error {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		if required {
			return inputErrorf("body", "a JSON object is required")
		}
		return check(dst)
	}
	if trimmed[0] != '{' {
		return inputErrorf("body", "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, dst)
	}
	if _, err := dec.Token(); err != io.EOF {
		return inputErrorf("body", "unexpected data after the JSON object")
	}
	return check(dst)
}

func check(dst any) error {
	if c, ok := dst.(checker); ok {
		return c.check()
	}
	return nil
}

// jsonError turns a decoding error into one naming the field.
func jsonError(err error, dst any) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return inputErrorf("body", "invalid JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return inputErrorf("body", "must be a JSON object")
		}
		return inputErrorf(field, "must be %s, not %s", describeField(reflect.TypeOf(dst), field, typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return inputErrorf("body", "the JSON ends too early")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		known := jsonFields(reflect.TypeOf(dst))
		return &problemError{status: http.StatusBadRequest, code: graph.CodeBadInput, field: name,
			detail: fmt.Sprintf("unknown field %q%s; the body takes: %s", name, suggest(name, known), strings.Join(known, ", "))}
	}
	return inputErrorf("body", "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// describeField says what a field holds in words ("a number", "a list of
// strings") for an error: the decoder reports only the Go type it failed
// on, which for a list is its element's.
func describeField(root reflect.Type, path string, failed reflect.Type) string {
	t := root
	for part := range strings.SplitSeq(path, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			t = nil
			break
		}
		var next reflect.Type
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == part {
				next = f.Type
				break
			}
		}
		t = next
	}
	if t == nil {
		return describe(failed)
	}
	return describe(t)
}

func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		elem := describe(t.Elem())
		elem = strings.TrimPrefix(strings.TrimPrefix(elem, "an "), "a ")
		if elem == "true or false" {
			elem = "boolean"
		}
		if !strings.HasSuffix(elem, "s") {
			elem += "s"
		}
		return "a list of " + elem
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.String()
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(t reflect.Type) []string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" && f.IsExported() {
			names = append(names, name)
		}
	}
	return names
}

// readYAML reads a YAML document (a manifest, a template): the raw body
// with a YAML Content-Type (or none), or a JSON object {"yaml": "..."} for
// clients that only speak JSON.
func readYAML(w http.ResponseWriter, r *http.Request) (string, error) {
	mt, err := mediaType(r)
	if err != nil {
		return "", err
	}
	switch {
	case isJSON(mt):
		var in yamlBody
		b, err := readBody(w, r)
		if err != nil {
			return "", err
		}
		if err := decodeJSONBytes(b, &in, true); err != nil {
			return "", err
		}
		return in.YAML, nil
	case mt == "" || isYAML(mt):
		b, err := readBody(w, r)
		if err != nil {
			return "", err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return "", inputErrorf("body", "a YAML document is required")
		}
		return string(b), nil
	}
	return "", &problemError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMediaType, field: "Content-Type",
		detail: fmt.Sprintf("this route reads YAML (application/yaml) or JSON {\"yaml\": \"...\"}, not %s", mt)}
}

// yamlBody is the JSON form of a YAML document body.
type yamlBody struct {
	YAML string `json:"yaml"`
}

func (b *yamlBody) check() error {
	if strings.TrimSpace(b.YAML) == "" {
		return inputErrorf("yaml", "required")
	}
	return nil
}
