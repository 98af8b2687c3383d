package rest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cloudplatform/cloud/graph/model"
)

// writeJSON writes v as the JSON response. It encodes before writing
// anything, so an encoding failure is still a proper problem response.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) // an error here is the client gone: nothing left to tell it
	return nil
}

// created answers 201 with the new resource and where it lives.
func created(w http.ResponseWriter, location string, v any) error {
	w.Header().Set("Location", location)
	return writeJSON(w, http.StatusCreated, v)
}

// accepted answers 202 for an operation started in the background: the
// body is the operation as it is now, the Location is where to poll it.
func accepted(w http.ResponseWriter, op *model.Operation, v any) error {
	w.Header().Set("Location", operationURL(op.ID))
	return writeJSON(w, http.StatusAccepted, v)
}

func operationURL(id string) string  { return Prefix + "/operations/" + url.PathEscape(id) }
func deploymentURL(id string) string { return Prefix + "/deployments/" + url.PathEscape(id) }
func stackURL(name string) string    { return Prefix + "/stacks/" + url.PathEscape(name) }
func templateURL(name string) string { return Prefix + "/templates/" + url.PathEscape(name) }

// accepts reports whether the request's Accept header prefers offer over
// JSON (its q-value is higher, or equal and it is listed first). Without
// an Accept header the answer is JSON.
func accepts(r *http.Request, offer string) bool {
	type choice struct {
		q   float64
		pos int
	}
	best := map[string]choice{}
	pos := 0
	for field := range strings.SplitSeq(strings.Join(r.Header.Values("Accept"), ","), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(field))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				q = v
			}
		}
		if _, seen := best[mt]; !seen {
			best[mt] = choice{q, pos}
		}
		pos++
	}
	score := func(mt string) choice {
		if c, ok := best[mt]; ok {
			return c
		}
		major, _, _ := strings.Cut(mt, "/")
		if c, ok := best[major+"/*"]; ok {
			return c
		}
		if c, ok := best["*/*"]; ok {
			return c
		}
		return choice{0, pos}
	}
	o, j := score(offer), score("application/json")
	if o.q <= 0 {
		return false
	}
	if o.q != j.q {
		return o.q > j.q
	}
	return o.pos < j.pos // equal preference: the one listed first
}
