package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/auth/cognito"
	"github.com/cloudplatform/cloud/monitor"
	"github.com/cloudplatform/cloud/store"
	"github.com/urfave/cli/v2"
)

// Remote mode: with --server (or CLOUD_SERVER) the commands below talk to
// a `cloud serve` over its REST API (/api/v1) instead of opening the local
// store, sending the ID token `cloud login` kept for that server. The
// server runs the same core, so what they do is what the local command
// does there; only the way it is shown is re-done here from the REST
// bodies (-o json prints those bodies as they are).

// remoteCommands are the commands that run against a server with
// --server; every other command refuses it (see checkServerFlag).
var remoteCommands = map[string]bool{
	"list": true, "status": true, "outputs": true, "history": true,
	"deploy": true, "deploy-stack": true, "preview": true, "refresh": true,
	"destroy": true, "destroy-stack": true, "rollback": true, "cancel": true,
	"monitor": true, "login": true, "logout": true,
}

// serverNeutral are the commands --server does not concern at all: they
// neither use it nor touch a store, so a CLOUD_SERVER in the environment
// must not stop them.
var serverNeutral = map[string]bool{"help": true, "version": true, "completion": true}

// checkServerFlag refuses --server for a command that only runs on the
// local store, in one place rather than in every command: running it
// locally while the user meant the server would act on the wrong data.
func checkServerFlag(c *cli.Context, server string) error {
	if server == "" || c.NArg() == 0 {
		return nil
	}
	cmd := find(c.App.Commands, c.Args().First())
	if cmd == nil || cmd.Hidden || remoteCommands[cmd.Name] || serverNeutral[cmd.Name] {
		return nil
	}
	return usageError("cloud %s does not run against a server (--server or CLOUD_SERVER); run it where the server's home is", cmd.Name)
}

// server is the server a command runs against: its own --server flag
// (monitor, login, logout) or the global one; "" for the local store.
func (e *env) server(c *cli.Context) string {
	if s := c.String("server"); s != "" {
		return s
	}
	return e.serverURL
}

// remoteClient calls one server's REST API.
type remoteClient struct {
	// base is the server's URL as the user gave it, without a trailing
	// slash; key is its ServerKey, the name of its tokens.
	base, key string
	tokens    cognito.Store
	http      *http.Client
	// sleep waits for a Retry-After, or less when the context ends.
	sleep func(context.Context, time.Duration) error
	// warn tells the user something they should know (on stderr).
	warn io.Writer
}

func (e *env) remote(server string) (*remoteClient, error) {
	key, err := cognito.ServerKey(server)
	if err != nil {
		return nil, usageError("--server: %v", err)
	}
	return &remoteClient{base: strings.TrimRight(server, "/"), key: key, tokens: e.tokenStore(),
		http: &http.Client{Timeout: 5 * time.Minute}, sleep: sleepCtx, warn: e.io.Err}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// token returns the ID token kept for the server, renewed when it expires
// within two minutes; "" with the reason when there is none (no login, or
// the session expired): the server may need none, and if it does, its
// 401 is answered with that reason.
func (r *remoteClient) token(ctx context.Context) (string, error) {
	ent, err := r.tokens.Fresh(ctx, r.key, 2*time.Minute)
	if err != nil {
		return "", err
	}
	return ent.Tokens.IDToken, nil
}

// header is the Authorization header for the server, empty without a
// login. Never nil, so it can be renewed in place (see follow).
func (r *remoteClient) header(ctx context.Context) http.Header {
	h := http.Header{}
	r.renew(ctx, h)
	return h
}

// renew sets h's Authorization to the current ID token (renewed when
// due), or removes it without a login.
func (r *remoteClient) renew(ctx context.Context, h http.Header) {
	if tok, err := r.token(ctx); err == nil && tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	} else {
		h.Del("Authorization")
	}
}

// problem is an RFC 9457 problem document of the server.
type problem struct {
	Status      int    `json:"status"`
	Title       string `json:"title"`
	Detail      string `json:"detail"`
	Code        string `json:"code"`
	Field       string `json:"field"`
	OperationID string `json:"operationId"`
	Errors      []struct {
		Message string `json:"message"`
		Field   string `json:"field"`
		Line    int    `json:"line"`
	} `json:"errors"`
}

// remoteError is a refusal of the server, shown as "<detail> (<code>)".
type remoteError struct{ p problem }

func (e *remoteError) Error() string {
	msg := e.p.Detail
	if msg == "" {
		msg = e.p.Title
	}
	for _, d := range e.p.Errors {
		if strings.Contains(msg, d.Message) {
			continue // the detail lists it already
		}
		where := d.Field
		if d.Line > 0 {
			where += fmt.Sprintf(" (line %d)", d.Line)
		}
		msg += fmt.Sprintf("\n  %s: %s", where, d.Message)
	}
	return fmt.Sprintf("%s (%s)", msg, e.p.Code)
}

// exitFor maps the server's error codes to the local CLI's exit codes:
// what the local CLI calls a usage error (bad input, an invalid manifest)
// is 2, everything else 1.
func exitFor(code string) int {
	switch code {
	case "BAD_USER_INPUT", "VALIDATION_FAILED":
		return 2
	}
	return 1
}

// call sends one request and decodes a 2xx JSON answer into out (when not
// nil), returning the raw body too. A 429 is retried once after its
// Retry-After; a 401 says how to log in.
func (r *remoteClient) call(ctx context.Context, method, path string, query url.Values, body any, out any) (json.RawMessage, *http.Response, error) {
	var payload []byte
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case yamlBody:
		payload, ctype = b, "application/yaml"
	default:
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, nil, err
		}
	}
	u := r.base + "/api/v1" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
		if err != nil {
			return nil, nil, err
		}
		if payload != nil {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("Accept", "application/json")
		tok, tokErr := r.token(ctx)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := r.http.Do(req)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", method, u, err)
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return nil, resp, fmt.Errorf("%s %s: %w", method, u, err)
		}
		if resp.StatusCode/100 == 2 {
			if out != nil && len(raw) > 0 {
				if err := json.Unmarshal(raw, out); err != nil {
					return nil, resp, fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
				}
			}
			return raw, resp, nil
		}
		var p problem
		if json.Unmarshal(raw, &p) != nil || p.Code == "" {
			p = problem{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode),
				Detail: fmt.Sprintf("%s %s: %s", method, path, strings.TrimSpace(firstLine(string(raw))))}
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			if attempt == 0 {
				wait := retryAfter(resp.Header.Get("Retry-After"))
				fmt.Fprintf(r.warn, "warning: %s is rate limiting this client; retrying in %s\n", r.key, wait)
				if err := r.sleep(ctx, wait); err != nil {
					return nil, resp, err
				}
				continue
			}
		case http.StatusUnauthorized:
			if tok == "" {
				why := "not logged in to " + r.key
				if tokErr != nil && errors.Is(tokErr, cognito.ErrSessionExpired) {
					why = "the session with " + r.key + " expired"
				}
				return nil, resp, &exitError{code: 1, err: fmt.Errorf("%s: run cloud login --server %s", why, r.key)}
			}
			return nil, resp, &exitError{code: 1, err: fmt.Errorf("%w: run cloud login --server %s", &remoteError{p}, r.key)}
		}
		return nil, resp, &exitError{code: exitFor(p.Code), err: &remoteError{p}}
	}
}

// yamlBody is a request body sent as application/yaml.
type yamlBody []byte

// retryAfter reads a Retry-After in seconds (the server's form), at least
// one second and at most a minute: a client should not hang on a bad one.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		n = 1
	}
	return min(time.Duration(n)*time.Second, time.Minute)
}

func pathEsc(s string) string { return url.PathEscape(s) }

// REST bodies, as far as the CLI shows them (server/rest/openapi.yaml).
type (
	restDeployment struct {
		ID           string            `json:"id"`
		Organization string            `json:"organization"`
		Project      string            `json:"project"`
		Domain       string            `json:"domain"`
		Revision     int               `json:"revision"`
		Status       string            `json:"status"`
		CreatedAt    time.Time         `json:"createdAt"`
		Environments []restEnvironment `json:"environments"`
	}
	restEnvironment struct {
		Name          string           `json:"name"`
		Enabled       bool             `json:"enabled"`
		Region        string           `json:"region"`
		AccountID     string           `json:"accountId"`
		Status        string           `json:"status"`
		Stacks        []restStackState `json:"stacks"`
		LastOperation *restOperation   `json:"lastOperation"`
	}
	restStackState struct {
		Name          string   `json:"name"`
		Layer         int      `json:"layer"`
		Enabled       bool     `json:"enabled"`
		Dependencies  []string `json:"dependencies"`
		Status        string   `json:"status"`
		Reason        string   `json:"reason"`
		ResourceCount int      `json:"resourceCount"`
	}
	restOperation struct {
		ID           string         `json:"id"`
		DeploymentID string         `json:"deploymentId"`
		Environment  string         `json:"environment"`
		Kind         string         `json:"kind"`
		Status       string         `json:"status"`
		Revision     int            `json:"revision"`
		Actor        string         `json:"actor"`
		StartedAt    time.Time      `json:"startedAt"`
		FinishedAt   *time.Time     `json:"finishedAt"`
		Duration     float64        `json:"duration"`
		Error        string         `json:"error"`
		Summary      map[string]any `json:"summary"`
		Stacks       []restOpStack  `json:"stacks"`
	}
	restOpStack struct {
		Stack         string         `json:"stack"`
		Status        string         `json:"status"`
		Reason        string         `json:"reason"`
		StartedAt     *time.Time     `json:"startedAt"`
		FinishedAt    *time.Time     `json:"finishedAt"`
		Changes       map[string]int `json:"changes"`
		Error         string         `json:"error"`
		ResourceCount int            `json:"resourceCount"`
	}
	restOutput struct {
		Stack    string `json:"stack"`
		Name     string `json:"name"`
		Value    any    `json:"value"`
		Secret   bool   `json:"secret"`
		Redacted bool   `json:"redacted"`
		Sealed   bool   `json:"sealed"`
	}
)

// emitRaw prints a REST body as it is for -o json and yaml, and table
// otherwise.
func (e *env) emitRaw(raw json.RawMessage, table func(w io.Writer)) error {
	if e.output == "table" {
		return e.emit(nil, table)
	}
	return e.emit(raw, nil)
}

// remoteList is `cloud list` against a server: every page of
// GET /deployments.
func (e *env) remoteList(c *cli.Context, server string) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	var all []json.RawMessage
	var list []restDeployment
	q := url.Values{"first": {"500"}}
	if c.Bool("all") {
		q.Set("includeDestroyed", "true")
	}
	for {
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"nextCursor"`
		}
		if _, _, err := r.call(c.Context, http.MethodGet, "/deployments", q, nil, &page); err != nil {
			return err
		}
		for _, it := range page.Items {
			var d restDeployment
			if err := json.Unmarshal(it, &d); err != nil {
				return err
			}
			all, list = append(all, it), append(list, d)
		}
		if page.NextCursor == "" {
			break
		}
		q.Set("after", page.NextCursor)
	}
	raw, _ := json.Marshal(map[string]any{"items": orEmpty(all), "totalCount": len(all)})
	return e.emitRaw(raw, func(w io.Writer) {
		row(w, "ID", "ORGANIZATION", "PROJECT", "STATUS", "ENVIRONMENTS", "CREATED")
		for _, d := range list {
			var envs []string
			for _, env := range d.Environments {
				envs = append(envs, env.Name+":"+env.Status)
			}
			sort.Strings(envs)
			row(w, d.ID, d.Organization, d.Project, e.cell(statusColor(d.Status), d.Status), strings.Join(envs, " "), ts(d.CreatedAt))
		}
	})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// remoteStatus is `cloud status` against a server: GET /deployments/{id},
// narrowed to one environment unless all.
func (e *env) remoteStatus(c *cli.Context, server, id, envName string) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	var d restDeployment
	raw, _, err := r.call(c.Context, http.MethodGet, "/deployments/"+pathEsc(id), nil, nil, &d)
	if err != nil {
		return err
	}
	if envName != "" {
		var names []string
		var keep []restEnvironment
		for _, env := range d.Environments {
			names = append(names, env.Name)
			if env.Name == envName {
				keep = append(keep, env)
			}
		}
		if len(keep) == 0 {
			return usageError("deployment %s has no environment %q (have: %s)", id, envName, strings.Join(names, ", "))
		}
		d.Environments = keep
		// The JSON is the deployment's body with only that environment.
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil {
			return err
		}
		var envs []map[string]json.RawMessage
		if err := json.Unmarshal(body["environments"], &envs); err != nil {
			return err
		}
		for _, env := range envs {
			if string(env["name"]) == strconv.Quote(envName) {
				body["environments"], _ = json.Marshal([]any{env})
			}
		}
		raw, _ = json.Marshal(body)
	}
	return e.emitRaw(raw, func(w io.Writer) { e.printStatus(w, d.status()) })
}

// status is the deployment as the local status command holds it, so both
// print alike.
func (d restDeployment) status() *app.DeploymentStatus {
	st := &app.DeploymentStatus{Revision: d.Revision, Deployment: store.Deployment{ID: d.ID,
		Organization: d.Organization, Project: d.Project, Domain: d.Domain}}
	for _, env := range d.Environments {
		es := app.EnvironmentStatus{Name: env.Name, Enabled: env.Enabled, Region: env.Region,
			AccountID: env.AccountID, Status: env.Status}
		if op := env.LastOperation; op != nil {
			es.LastOperation = &store.Operation{ID: op.ID, Kind: op.Kind, Status: op.Status, StartedAt: op.StartedAt, Actor: op.Actor}
		}
		for _, s := range env.Stacks {
			es.Stacks = append(es.Stacks, app.StackStatus{Name: s.Name, Layer: s.Layer, Enabled: s.Enabled,
				Dependencies: s.Dependencies, Status: s.Status, Reason: s.Reason, ResourceCount: s.ResourceCount})
		}
		st.Environments = append(st.Environments, es)
	}
	return st
}

// remoteOutputs is `cloud outputs` against a server. Secret values come
// only with --show-secrets, which the server refuses to viewers.
func (e *env) remoteOutputs(c *cli.Context, server, id, envName, stack string, showSecrets bool) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	q := url.Values{}
	if stack != "" {
		q.Set("stack", stack)
	}
	if showSecrets {
		q.Set("showSecrets", "true")
	}
	var list struct {
		Items []restOutput `json:"items"`
	}
	raw, _, err := r.call(c.Context, http.MethodGet, "/deployments/"+pathEsc(id)+"/environments/"+pathEsc(envName)+"/outputs", q, nil, &list)
	if err != nil {
		return err
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.Stack < b.Stack || a.Stack == b.Stack && a.Name < b.Name
	})
	return e.emitRaw(raw, func(w io.Writer) {
		row(w, "STACK", "OUTPUT", "VALUE")
		for _, o := range list.Items {
			text := "[secret]"
			switch {
			case o.Sealed:
				text = sealedText
			case !o.Redacted:
				b, _ := json.Marshal(o.Value)
				text = string(b)
				if s, ok := o.Value.(string); ok {
					text = s
				}
			}
			row(w, o.Stack, o.Name, text)
		}
		if len(list.Items) == 0 {
			fmt.Fprintln(w, "(no outputs)")
		}
	})
}

// remoteHistory is `cloud history` against a server.
func (e *env) remoteHistory(c *cli.Context, server, id, envName string, limit int) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 500 {
		return usageError("--limit must be between 1 and 500 with --server")
	}
	q := url.Values{"first": {strconv.Itoa(limit)}}
	if envName != "" {
		q.Set("environment", envName)
	}
	var page struct {
		Items []restOperation `json:"items"`
	}
	raw, _, err := r.call(c.Context, http.MethodGet, "/deployments/"+pathEsc(id)+"/operations", q, nil, &page)
	if err != nil {
		return err
	}
	return e.emitRaw(raw, func(w io.Writer) { e.operationRows(w, page.Items) })
}

func (e *env) operationRows(w io.Writer, ops []restOperation) {
	row(w, "OPERATION", "KIND", "ENV", "STATUS", "STARTED", "DURATION", "REVISION", "BY", "SUMMARY")
	for _, op := range ops {
		d := "-"
		if op.FinishedAt != nil {
			d = duration(op.FinishedAt.Sub(op.StartedAt))
		}
		row(w, op.ID, op.Kind, op.Environment, e.cell(statusColor(op.Status), op.Status), ts(op.StartedAt), d,
			op.Revision, op.Actor, summaryText(op.Summary))
	}
}

// remoteCancel is `cloud cancel` against a server.
func (e *env) remoteCancel(c *cli.Context, server, opID string) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	raw, _, err := r.call(c.Context, http.MethodPost, "/operations/"+pathEsc(opID)+"/cancel", nil, nil, nil)
	if err != nil {
		return err
	}
	if e.output != "table" {
		return e.emit(raw, nil)
	}
	e.status("asked %s to cancel %s; follow it with: cloud monitor --server %s --operation %s", r.key, opID, r.key, opID)
	return nil
}

// remoteRollback is `cloud rollback` against a server: --list, or start
// the rollback and follow it. Stacks the earlier revision lacks are
// destroyed only with --yes: there is no way to ask in between.
func (e *env) remoteRollback(c *cli.Context, server, id string) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	if c.IsSet("require-lock") {
		return usageError("--require-lock does not apply with --server: the server handles the team lock")
	}
	envPath := "/deployments/" + pathEsc(id) + "/environments/" + pathEsc(c.String("env"))
	if c.Bool("list") {
		var list struct {
			Items []restOperation `json:"items"`
		}
		raw, _, err := r.call(c.Context, http.MethodGet, envPath+"/rollback-candidates", nil, nil, &list)
		if err != nil {
			return err
		}
		return e.emitRaw(raw, func(w io.Writer) {
			row(w, "OPERATION", "KIND", "REVISION", "FINISHED", "BY", "SUMMARY")
			for _, op := range list.Items {
				finished := "-"
				if op.FinishedAt != nil {
					finished = ts(*op.FinishedAt)
				}
				row(w, op.ID, op.Kind, op.Revision, finished, op.Actor, summaryText(op.Summary))
			}
		})
	}
	to := c.String("to")
	if to == "" {
		return usageError("rollback: give --to OPERATION (or --list to see the candidates)")
	}
	body := map[string]any{"to": to, "destroyAdded": e.yes}
	if c.IsSet("parallel") {
		body["parallel"] = c.Int("parallel")
	}
	var op restOperation
	if _, _, err := r.call(c.Context, http.MethodPost, envPath+"/rollback", nil, body, &op); err != nil {
		var re *remoteError
		if !e.yes && errors.As(err, &re) && strings.Contains(re.p.Detail, "would destroy") {
			// The server cannot ask: --yes is the confirmation.
			return usageError("%v\nrun it again with --yes to destroy them", err)
		}
		return err
	}
	return e.follow(c.Context, r, op)
}

// remoteOperate starts an operation on a server (deploy, preview,
// destroy, refresh, of the environment or of one stack) and follows it.
// deploy --file first stores the manifest as a new revision there.
func (e *env) remoteOperate(c *cli.Context, server string, req app.RunRequest) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	if c.IsSet("require-lock") {
		return usageError("--require-lock does not apply with --server: the server handles the team lock")
	}
	if c.Int("parallel") < 1 {
		return usageError("--parallel must be at least 1")
	}
	if f := c.String("file"); f != "" {
		data, err := app.ReadManifestFile(f)
		if err != nil {
			return err
		}
		var change struct {
			Revision int  `json:"revision"`
			Changed  bool `json:"changed"`
		}
		if _, _, err := r.call(c.Context, http.MethodPut, "/deployments/"+pathEsc(req.DeploymentID)+"/manifest", nil, yamlBody(data), &change); err != nil {
			return err
		}
		if change.Changed {
			e.status("applied %s as revision %d on %s", f, change.Revision, r.key)
		}
	}
	body := map[string]any{}
	set := func(flag, field string) {
		if c.IsSet(flag) {
			body[field] = c.Value(flag)
		}
	}
	set("parallel", "parallel")
	set("fail-fast", "failFast")
	set("force", "force")
	path := "/deployments/" + pathEsc(req.DeploymentID) + "/environments/" + pathEsc(c.String("env"))
	if strings.HasSuffix(c.Command.Name, "-stack") {
		// One stack: its own route, whose options differ.
		path += "/stacks/" + pathEsc(req.Stacks[0])
		set("with-dependencies", "withDependencies")
		set("cascade", "cascade")
	} else {
		set("resume", "resume")
		set("skip-validation", "skipValidation")
		if len(req.Stacks) > 0 {
			body["stacks"] = req.Stacks
		}
	}
	var op restOperation
	if _, _, err := r.call(c.Context, http.MethodPost, path+"/"+req.Kind, nil, body, &op); err != nil {
		return err
	}
	return e.follow(c.Context, r, op)
}

// follow shows an operation started on a server until it ends: its events
// live (the GraphQL subscription monitor uses, one line each, on stderr),
// then its stacks' outcome and result like the local command's report.
// When the subscription cannot be had it polls GET /operations/{id}.
// Interrupting the CLI does not stop the operation: it goes on on the
// server, and the message says how to cancel it.
func (e *env) follow(ctx context.Context, r *remoteClient, op restOperation) error {
	e.status("%s %s started on %s (%s of %s)", op.Kind, op.ID, r.key, op.Environment, op.DeploymentID)
	hdr := r.header(ctx)
	src := monitor.Remote{URL: r.base, Header: hdr, GiveUp: 2 * time.Minute}
	st := monitor.New()
	err := monitor.Follow(ctx, src, monitor.Filter{OperationID: op.ID, DeploymentID: op.DeploymentID, Environment: op.Environment},
		false, st, func(ev *monitor.Event) {
			if e.quiet {
				return
			}
			if line := monitor.PlainLine(st, ev); line != "" {
				fmt.Fprintln(e.io.Err, line)
			}
		}, func(u monitor.Update) {
			if u.Status == "reconnecting" {
				// The server closes a subscription when its token expires:
				// reconnect with a renewed one. Stream copies the Remote but
				// shares the header map, and calls this on its own goroutine
				// before it dials again, so renewing in place is safe.
				r.renew(ctx, hdr)
				e.status("connection to %s lost (%v); reconnecting in %s", r.key, u.Err, monitor.Duration(u.Retry))
			}
		})
	if ctx.Err() != nil {
		return &exitError{code: 1, err: fmt.Errorf("stopped following %s; it goes on on %s (cancel it with: cloud --server %s cancel %s)", op.ID, r.key, r.key, op.ID)}
	}
	if err != nil {
		e.status("live events of %s unavailable (%v); polling", op.ID, err)
	}
	var final restOperation
	var raw json.RawMessage
	for {
		raw, _, err = r.call(ctx, http.MethodGet, "/operations/"+pathEsc(op.ID), nil, nil, &final)
		if err != nil {
			return err
		}
		if final.Status != app.OpQueued && final.Status != app.OpRunning {
			break
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return &exitError{code: 1, err: fmt.Errorf("stopped following %s; it goes on on %s (cancel it with: cloud --server %s cancel %s)", op.ID, r.key, r.key, op.ID)}
		}
	}
	if err := e.printRemoteReport(raw, final); err != nil {
		return err
	}
	if final.Status != app.OpSucceeded {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

// printRemoteReport is printReport for an operation read from a server.
func (e *env) printRemoteReport(raw json.RawMessage, op restOperation) error {
	if e.output != "table" {
		return e.emit(raw, nil)
	}
	r := &app.Report{Operation: &store.Operation{ID: op.ID, Kind: op.Kind, Status: op.Status,
		StartedAt: op.StartedAt, FinishedAt: op.FinishedAt}}
	for _, s := range op.Stacks {
		res := app.StackResult{Stack: s.Stack, Status: s.Status, Reason: s.Reason, Error: s.Error,
			Changes: s.Changes, ResourceCount: s.ResourceCount}
		if s.StartedAt != nil && s.FinishedAt != nil {
			res.Duration = s.FinishedAt.Sub(*s.StartedAt)
		}
		r.Stacks = append(r.Stacks, res)
	}
	e.printReportTable(r)
	// An operation that ended before its stacks could (e.g. invalid
	// config) says why only here.
	if op.Error != "" && op.Error != op.Status && op.Status != app.OpSucceeded {
		w := e.io.Err
		if e.quiet {
			w = e.io.Out
		}
		fmt.Fprintf(w, "%s\n", op.Error)
	}
	return nil
}

// remoteMonitor prepares `cloud monitor --server`: it checks the login
// with one REST call first (a WebSocket refusal says less, and the
// subscription would retry it until --give-up), then lets monitor run with
// the token on every request and on the subscription.
func (e *env) remoteMonitor(c *cli.Context, server string) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	if _, _, err := r.call(c.Context, http.MethodGet, "/deployments", url.Values{"first": {"1"}}, nil, nil); err != nil {
		return err
	}
	e.monitorAuth = r.renew
	return nil
}
