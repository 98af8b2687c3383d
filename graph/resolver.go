// Package graph is the GraphQL API of cloud: the schema (schema.graphqls),
// gqlgen's generated executor and the resolvers. The resolvers are the
// application API the REST handlers call too; they translate between the
// schema's types and the application core (package app), which does the
// work.
package graph

//go:generate sh -c "cd .. && go tool gqlgen generate"

import (
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/store/feed"
)

// Resolver is the root of every resolver: the application core and the
// event hub subscriptions read from.
type Resolver struct {
	App  *app.App
	Feed *feed.Hub
}
