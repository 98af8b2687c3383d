package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// useLimits adds the GraphQL limits to h: depth and complexity are
// checked after validation and before anything runs; subscriptions are
// counted while they run.
func (s *Server) useLimits(h *handler.Server) {
	lim := s.cfg.Limits
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
