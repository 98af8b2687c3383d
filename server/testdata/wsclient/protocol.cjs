// Drives `cloud serve`'s graphql-transport-ws endpoint with third-party
// clients (run by server/wsclient_test.go through .tools/bin/graphql-ws-node):
// the npm `ws` package sends what a correct client never would and reports
// the close code and reason the server answers with; the npm `graphql-ws`
// client (the protocol's reference implementation) runs a query and a
// subscription. It prints one JSON line per scenario and never judges:
// the Go test holds the expectations.
//
//   node protocol.cjs WS_URL OPERATION_ID
'use strict';

const WebSocket = require('ws');
const { createClient } = require('graphql-ws');

const [url, operationID] = process.argv.slice(2);
const guardMs = 20000; // catches a hang only

const sub = (id, query) => JSON.stringify({ id, type: 'subscribe', payload: { query } });
const running = 'subscription { deploymentEvents(deploymentId: "DLIMIT1") { events { seq } } }';

// Each scenario: messages to send once the socket opens (the string
// "ACK" waits for connection_ack first).
const scenarios = [
  ['second connection_init', ['{"type":"connection_init"}', 'ACK', '{"type":"connection_init"}']],
  ['subscribe before connection_ack', [sub('1', '{ deployments { nodes { id } } }')]],
  ['duplicate subscription id', ['{"type":"connection_init"}', 'ACK', sub('a', running), sub('a', running)]],
  ['unknown message type', ['{"type":"connection_init"}', 'ACK', '{"type":"hello"}']],
  ['text that is not JSON', ['{"type":"connection_init"}', 'ACK', 'not json']],
  ['subscribe without id', ['{"type":"connection_init"}', 'ACK', '{"type":"subscribe","payload":{"query":"{ deployments { nodes { id } } }"}}']],
  ['subscribe without payload', ['{"type":"connection_init"}', 'ACK', '{"type":"subscribe","id":"1"}']],
  ['no connection_init', []],
];

function raw(name, steps) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const seen = [];
    let i = 0;
    const guard = setTimeout(() => { ws.terminate(); resolve({ name, error: 'no close within the guard time', seen }); }, guardMs);
    const pump = () => {
      while (i < steps.length && steps[i] !== 'ACK') ws.send(steps[i++]);
    };
    ws.on('open', pump);
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.type === 'ping') { ws.send('{"type":"pong"}'); return; }
      seen.push(m.type);
      if (m.type === 'connection_ack' && steps[i] === 'ACK') { i++; pump(); }
    });
    ws.on('close', (code, reason) => {
      clearTimeout(guard);
      resolve({ name, code, reason: String(reason), seen });
    });
    ws.on('error', (err) => { clearTimeout(guard); resolve({ name, error: String(err), seen }); });
  });
}

// happy runs a query and a subscription through graphql-ws and reports
// what came back and how the socket closed.
async function happy() {
  const out = { name: 'graphql-ws happy path' };
  const closed = new Promise((resolve) => {
    const client = createClient({
      url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, keepAlive: 50,
      on: { closed: (e) => resolve({ code: e.code, reason: String(e.reason) }), pong: () => { out.pongs = (out.pongs || 0) + 1; } },
    });
    out.client = client;
  });
  const client = out.client;
  delete out.client;
  const first = async (payload) => {
    for await (const r of client.iterate(payload)) return r; // leaving the loop completes it
    return null;
  };
  try {
    out.query = await first({ query: '{ deployment(id: "DLIMIT1") { id project } }' });
    out.subscription = await first({
      query: 'subscription($op: ID!) { operationEvents(operationId: $op, afterSeq: 0) { events { seq } } }',
      variables: { op: operationID },
    });
    out.invalid = await first({ query: 'subscription { nope }' }).catch((errs) => ({ errors: errs }));
    await new Promise((r) => setTimeout(r, 200)); // a few keep-alive pings
  } catch (err) {
    out.error = String(err && err.message || JSON.stringify(err));
  }
  await client.dispose();
  out.closed = await closed;
  return out;
}

(async () => {
  for (const [name, steps] of scenarios) console.log(JSON.stringify(await raw(name, steps)));
  console.log(JSON.stringify(await Promise.race([happy(), new Promise((r) => setTimeout(() => r({ name: 'graphql-ws happy path', error: 'hang' }), guardMs))])));
  process.exit(0);
})();
