package server

import (
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/cloudplatform/cloud/graph"
)

// graphqlHandler serves queries and mutations over HTTP (POST, GET) and
// subscriptions over WebSocket with the graphql-transport-ws protocol
// (gqlgen's transport also accepts the older graphql-ws).
func (s *Server) graphqlHandler() http.Handler {
	h := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: s.resolver}))
	h.AddTransport(transport.Websocket{
		// wsAcceptor holds graphql-transport-ws to its close codes and
		// runs the init timeout (gqlgen's own would close with 1002).
		Implementation: wsAcceptor{initTimeout: s.cfg.InitTimeout},
		// graphql-transport-ws: the server pings, a client that stops
		// answering is dropped after two intervals (a dead peer must not
		// hold a subscription forever). graphql-ws (legacy): "ka".
		PingPongInterval:      s.cfg.KeepAlive,
		KeepAlivePingInterval: s.cfg.KeepAlive,
		InitFunc:              s.wsInit,
		ErrorFunc: func(ctx context.Context, err error) {
			s.log.Debug("websocket", "error", err)
		},
	})
	h.AddTransport(transport.Options{})
	h.AddTransport(transport.GET{})
	h.AddTransport(transport.POST{})
	h.Use(extension.Introspection{})
	s.useLimits(h)
	h.SetErrorPresenter(graph.PresentError)
	return s.graphqlRequests(h)
}

func playgroundHandler() http.Handler {
	return playground.Handler("cloud GraphQL", "/graphql")
}
