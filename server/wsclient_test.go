package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/internal/testtools"
	"github.com/cloudplatform/cloud/server"
)

// TestTransportWS_ThirdPartyClients runs the protocol against clients
// that are not ours: the npm ws package for the close codes, the npm
// graphql-ws client (the protocol's reference implementation) for the
// happy path. tools/install/graphql-ws-clients.sh installs them.
func TestTransportWS_ThirdPartyClients(t *testing.T) {
	node, err := testtools.Path("CLOUD_GRAPHQL_WS_NODE", "graphql-ws-node", "tools/install/graphql-ws-clients.sh")
	if err != nil {
		t.Fatal(err)
	}
	db, url := startWS(t, server.Config{InitTimeout: 300 * time.Millisecond, KeepAlive: time.Minute})
	op := beginOperation(t, db)
	appendEvent(t, db, op)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/wsclient/protocol.cjs", url, op.ID)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr.Bytes())
	}
	type result struct {
		Name         string          `json:"name"`
		Code         int             `json:"code"`
		Reason       string          `json:"reason"`
		Error        string          `json:"error"`
		Seen         []string        `json:"seen"`
		Query        json.RawMessage `json:"query"`
		Subscription json.RawMessage `json:"subscription"`
		Invalid      json.RawMessage `json:"invalid"`
		Pongs        int             `json:"pongs"`
		Closed       struct {
			Code int `json:"code"`
		} `json:"closed"`
	}
	got := map[string]result{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("node printed %q: %v", sc.Text(), err)
		}
		got[r.Name] = r
	}

	for _, want := range []struct {
		name   string
		code   int
		reason string
	}{
		{"second connection_init", 4429, "Too many initialisation requests"},
		{"subscribe before connection_ack", 4401, "Unauthorized"},
		{"duplicate subscription id", 4409, "Subscriber for a already exists"},
		{"unknown message type", 4400, ""},
		{"text that is not JSON", 4400, ""},
		{"subscribe without id", 4400, ""},
		{"subscribe without payload", 4400, ""},
		{"no connection_init", 4408, "Connection initialisation timeout"},
	} {
		r, ok := got[want.name]
		switch {
		case !ok:
			t.Errorf("%s: no result (node printed %s)", want.name, out)
		case r.Error != "":
			t.Errorf("%s: %s (messages %v)", want.name, r.Error, r.Seen)
		case r.Code != want.code || want.reason != "" && r.Reason != want.reason:
			t.Errorf("%s: closed with %d %q, want %d %q (messages %v)", want.name, r.Code, r.Reason, want.code, want.reason, r.Seen)
		}
	}

	h, ok := got["graphql-ws happy path"]
	if !ok || h.Error != "" {
		t.Fatalf("graphql-ws: %+v (stderr %s)", h, stderr.Bytes())
	}
	if !strings.Contains(string(h.Query), `"id":"DLIMIT1"`) {
		t.Errorf("graphql-ws query: %s", h.Query)
	}
	if !strings.Contains(string(h.Subscription), `"seq":`) {
		t.Errorf("graphql-ws subscription: %s", h.Subscription)
	}
	if !strings.Contains(string(h.Invalid), `"errors"`) {
		t.Errorf("graphql-ws invalid subscription: %s, want its errors", h.Invalid)
	}
	if h.Pongs == 0 {
		t.Error("graphql-ws: no pong answered its pings")
	}
	if h.Closed.Code != 1000 {
		t.Errorf("graphql-ws: closed with %d, want 1000 (its own normal closure)", h.Closed.Code)
	}
}
