package main

// Which client a command runs through (client.Local or client.HTTP), and which commands take --server: the only place that knows.

// The client a command runs through: client.Local over this machine's
// store, or client.HTTP of the server --server (CLOUD_SERVER) names. Both
// answer with the API's documents and run operations the same way, so no
// command asks which it has.

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

// remoteCommands are the commands that run against a server with
// --server; every other command refuses it (see checkServerFlag).
var remoteCommands = map[string]bool{
	"list": true, "status": true, "outputs": true, "history": true, "logs": true,
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
