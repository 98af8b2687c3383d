package main

// Which client a command reads through (client.Local or client.HTTP): the only place that knows.

// The client a command reads through: client.Local over this machine's
// store, or client.HTTP of the server --server (CLOUD_SERVER) names. Both
// answer with the API's documents, so no command asks which it has.

import (
	"time"

	"github.com/cloudplatform/cloud/client"
	"github.com/urfave/cli/v2"
)

// client is the client for command c: of the server it runs against,
// else of the local store.
func (e *env) client(c *cli.Context) (client.Client, error) {
	if srv := e.server(c); srv != "" {
		h, err := e.remote(srv)
		if err == nil && hasFlag(c.Command.Flags, "give-up") {
			h.GiveUp = c.Duration("give-up")
		}
		return h, err
	}
	a, err := e.open(c.Context)
	if err != nil {
		return nil, err
	}
	return client.NewLocal(a), nil
}

// lazyClient is the client of command c, made when a run first asks for
// it: parsing the arguments must not open the store or need a server.
func (e *env) lazyClient(c *cli.Context) func() (client.Client, error) {
	return func() (client.Client, error) { return e.client(c) }
}

// remote is the REST client of server.
func (e *env) remote(server string) (*client.HTTP, error) {
	h, err := client.NewHTTP(server, e.tokenStore(), e.io.Err)
	if err != nil {
		return nil, usageError("--server: %v", err)
	}
	// A stream gives up after this long without a connection: following
	// an operation then falls back to polling it.
	h.GiveUp = 2 * time.Minute
	return h, nil
}

// serverArg is the --server argument that repeats the server command c
// runs against, for the commands a message suggests ("" locally).
func (e *env) serverArg(c *cli.Context) string {
	if srv := e.server(c); srv != "" {
		return "--server " + srv + " "
	}
	return ""
}
