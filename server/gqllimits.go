package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"
)

// useLimits adds the GraphQL limits to h: the document's size before it
// is parsed, depth and complexity after validation and before anything
// runs; subscriptions are counted while they run.
func (s *Server) useLimits(h *handler.Server) {
	lim := s.cfg.Limits
	h.Use(s.queryBound())
	if lim.MaxQueryDepth > 0 {
		h.Use(depthLimit{max: lim.MaxQueryDepth})
	}
	if lim.MaxComplexity > 0 {
		h.Use(extension.FixedComplexityLimit(lim.MaxComplexity))
	}
	h.Use(subscriptionLimit{l: s.limits})
}

// depthLimit refuses operations that nest deeper than max before they run:
// the schema's relations (deployment → operations → stacks …) and
// introspection's (fields → type → fields …) allow queries whose cost
// grows with each level.
type depthLimit struct{ max int }

var (
	_ graphql.HandlerExtension        = depthLimit{}
	_ graphql.OperationContextMutator = depthLimit{}
)

func (depthLimit) ExtensionName() string                          { return "QueryDepthLimit" }
func (depthLimit) Validate(schema graphql.ExecutableSchema) error { return nil }

// MutateOperationContext runs after validation, so fragment spreads
// resolve and do not cycle.
func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	m := &depthMeter{frags: oc.Doc.Fragments, memo: map[string]int{}}
	if depth := m.depth(oc.Operation.SelectionSet); depth > d.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("the operation is %d levels deep; the limit is %d (query depth limit)", depth, d.max),
			Extensions: map[string]any{"code": CodeQueryTooDeep, "depth": depth, "limit": d.max},
		}
	}
	return nil
}

// depthMeter measures selection sets. A fragment's depth does not depend
// on where it is spread, so it is measured once: a document spreading
// fragments into each other twice per level would otherwise take
// exponential time to measure.
type depthMeter struct {
	frags ast.FragmentDefinitionList
	memo  map[string]int
}

func (m *depthMeter) depth(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		d := 0
		switch sel := sel.(type) {
		case *ast.Field:
			d = m.depth(sel.SelectionSet)
			// __Type.ofType only unwraps a list or non-null type and ends
			// at the named type: it cannot fan out, and the standard
			// introspection query (GraphiQL's) nests it seven to nine
			// times. Every other field counts, introspection's too.
			if !(sel.Name == "ofType" && sel.ObjectDefinition != nil && sel.ObjectDefinition.Name == "__Type") {
				d++
			}
		case *ast.InlineFragment:
			d = m.depth(sel.SelectionSet)
		case *ast.FragmentSpread:
			var ok bool
			if d, ok = m.memo[sel.Name]; !ok {
				m.memo[sel.Name] = 0 // cycles are invalid; this only guards
				if f := m.frags.ForName(sel.Name); f != nil {
					d = m.depth(f.SelectionSet)
				}
				m.memo[sel.Name] = d
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// subscriptionLimit bounds the subscriptions one client runs at once,
// across all its connections: each holds a feed subscriber and a
// goroutine until it ends.
type subscriptionLimit struct{ l *clientLimits }

var (
	_ graphql.HandlerExtension     = subscriptionLimit{}
	_ graphql.OperationInterceptor = subscriptionLimit{}
)

func (subscriptionLimit) ExtensionName() string                          { return "SubscriptionLimit" }
func (subscriptionLimit) Validate(schema graphql.ExecutableSchema) error { return nil }

// InterceptOperation counts a subscription from its start until its
// stream ends (the response handler returns nil) or its context ends
// (the client completed it or the connection closed), whichever comes
// first. A refused subscription gets one response with the error and
// ends; the connection and the client's other subscriptions go on.
func (s subscriptionLimit) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	limit := s.l.cfg.MaxSubscriptions
	release, ok := s.l.acquire(s.l.subs, clientKey(ctx), limit)
	if !ok {
		s.l.wsRefused.WithLabelValues("subscriptions").Inc()
		var sent sync.Once
		return func(ctx context.Context) *graphql.Response {
			var r *graphql.Response
			sent.Do(func() {
				r = &graphql.Response{Errors: gqlerror.List{{
					Message:    fmt.Sprintf("too many subscriptions (limit %d): end one before starting another", limit),
					Extensions: map[string]any{"code": CodeTooManySubscriptions, "limit": limit},
				}}}
			})
			return r
		}
	}
	stop := context.AfterFunc(ctx, release)
	responses := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		r := responses(ctx)
		if r == nil {
			stop()
			release()
		}
		return r
	}
}

// queryBound is the server's bound of documents (Limits.MaxQueryTokens,
// MaxSelections, MaxAliases; 0 where a limit is off).
func (s *Server) queryBound() queryBound {
	lim := s.cfg.Limits
	return queryBound{maxTokens: max(lim.MaxQueryTokens, 0), maxSelections: max(lim.MaxSelections, 0), maxAliases: max(lim.MaxAliases, 0)}
}

// queryBound refuses documents over the size bounds before gqlgen parses
// them for execution: gqlgen validates a document in time that grows
// with the square of its repeated fields (20,000 `id` fields: 19 s of
// CPU) and computes complexity by expanding every fragment spread (30
// fragments each spreading the next twice: minutes), and both run before
// the complexity limit can refuse. A lexer pass bounds the tokens, which
// bounds the parse that follows; counting selections with each
// fragment's size measured once is linear in the document.
type queryBound struct{ maxTokens, maxSelections, maxAliases int }

var (
	_ graphql.HandlerExtension          = queryBound{}
	_ graphql.OperationParameterMutator = queryBound{}
)

func init() {
	// Refused before it is parsed, like a parse failure: HTTP 422 from
	// gqlgen's transports, an "error" message over WebSocket.
	errcode.RegisterErrorType(CodeQueryTooLarge, errcode.KindProtocol)
}

func (queryBound) ExtensionName() string                          { return "QueryBound" }
func (queryBound) Validate(schema graphql.ExecutableSchema) error { return nil }

// checkedQueryKey marks a request context whose query the HTTP door has
// already checked (graphqlRequests): the same document is not measured
// twice.
type checkedQueryKey struct{}

func (b queryBound) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if q, ok := ctx.Value(checkedQueryKey{}).(string); ok && q == p.Query {
		return nil
	}
	_, err := b.scan(p.Query)
	return err
}

// scan measures query against the bounds and returns it parsed, or the
// error refusing it. A document that does not parse returns neither:
// gqlgen reports its syntax error.
func (b queryBound) scan(query string) (*ast.QueryDocument, *gqlerror.Error) {
	src := &ast.Source{Input: query}
	if b.maxTokens > 0 {
		lx := lexer.New(src)
		for n := 0; ; n++ {
			tok, err := lx.ReadToken()
			if err != nil || tok.Kind == lexer.EOF {
				break
			}
			if n == b.maxTokens {
				return nil, tooLarge("tokens", fmt.Sprintf("more than %d tokens", b.maxTokens), b.maxTokens)
			}
		}
	}
	doc, err := parser.ParseQuery(src)
	if err != nil {
		return nil, nil
	}
	m := &sizeMeter{frags: doc.Fragments, memo: map[string]int{}, limit: b.maxSelections}
	var text, aliases int
	for _, op := range doc.Operations {
		m.count(op.SelectionSet, &text, &aliases)
	}
	for _, f := range doc.Fragments {
		m.count(f.SelectionSet, &text, &aliases)
	}
	if b.maxAliases > 0 && aliases > b.maxAliases {
		return nil, tooLarge("aliases", fmt.Sprintf("%d aliases", aliases), b.maxAliases)
	}
	if b.maxSelections > 0 {
		if text > b.maxSelections {
			return nil, tooLarge("selections", fmt.Sprintf("%d selections", text), b.maxSelections)
		}
		for _, op := range doc.Operations {
			if n := m.size(op.SelectionSet); n > b.maxSelections {
				return nil, tooLarge("selections", fmt.Sprintf("more than %d selections with its fragments expanded", b.maxSelections), b.maxSelections)
			}
		}
	}
	return doc, nil
}

func tooLarge(measure, has string, limit int) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    fmt.Sprintf("the document has %s; the limit is %d (query size limit)", has, limit),
		Extensions: map[string]any{"code": CodeQueryTooLarge, "measure": measure, "limit": limit},
	}
}

// sizeMeter counts selections. size saturates just above limit: a
// fragment spread twice per level for thirty levels expands to a billion
// selections, and only "over the limit" matters.
type sizeMeter struct {
	frags ast.FragmentDefinitionList
	memo  map[string]int
	limit int
}

// count adds the selections and aliases written in set (spreads not
// followed).
func (m *sizeMeter) count(set ast.SelectionSet, selections, aliases *int) {
	for _, sel := range set {
		*selections++
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Alias != "" && sel.Alias != sel.Name {
				*aliases++
			}
			m.count(sel.SelectionSet, selections, aliases)
		case *ast.InlineFragment:
			m.count(sel.SelectionSet, selections, aliases)
		}
	}
}

// size is the number of selections in set with fragment spreads
// replaced by their fragments, each fragment measured once.
func (m *sizeMeter) size(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		n++
		switch sel := sel.(type) {
		case *ast.Field:
			n += m.size(sel.SelectionSet)
		case *ast.InlineFragment:
			n += m.size(sel.SelectionSet)
		case *ast.FragmentSpread:
			d, ok := m.memo[sel.Name]
			if !ok {
				m.memo[sel.Name] = 0 // cycles are invalid; this only guards
				if f := m.frags.ForName(sel.Name); f != nil {
					d = m.size(f.SelectionSet)
				}
				m.memo[sel.Name] = d
			}
			n += d
		}
		if m.limit > 0 && n > m.limit {
			return m.limit + 1
		}
	}
	return n
}
