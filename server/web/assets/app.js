// The cloud dashboard: a deployments list and a deployment page that follow
// the GraphQL API (/graphql) and its deploymentEvents subscription
// (graphql-transport-ws). No framework, no build step; see docs/dashboard.md.

const $ = (sel, root = document) => root.querySelector(sel);
const SVG = 'http://www.w3.org/2000/svg'; // the SVG namespace: a name, never fetched

// The state of the current view; window.__dashboard exposes it to tests
// (ws, lastSeq, reconnects, lastClose, listEvents, auth, events, running,
// formats).
const state = {
  gen: 0, ws: null, subId: 0, lastSeq: 0, reconnects: 0, backoff: 500,
  timer: null, view: null, stacks: new Map(), stackSeq: new Map(), refreshing: null,
  selected: null, events: [], outputs: [], ops: [], listEvents: 0,
  retry: null, handover: false, refused: 0, lastClose: 0,
  // The operation running now, from its events: its id and each of its
  // stacks' status and reason (pending until a stack.status event says
  // otherwise); null when none runs.
  running: null,
};
window.__dashboard = state;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v; else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

async function gql(query, variables = {}) {
  const r = await authFetch('/graphql', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  let j;
  try { j = await r.json(); } catch { throw new Error(`the server answered ${r.status} ${r.statusText}`); }
  if (j.errors && j.errors.length) throw new Error(j.errors.map((e) => e.message).join('; '));
  return j.data;
}

// ---- sign-in ---------------------------------------------------------------

// With `cloud serve --auth cognito` (GET /auth/config says so) every
// GraphQL request and WebSocket needs a Cognito ID token. The page signs in
// through the server (POST /auth/login, /auth/refresh) and keeps the tokens
// in sessionStorage only: they live as long as the tab, never in
// localStorage or a cookie. With --auth none nothing of this shows.

const SESSION_KEY = 'cloud.session';
const auth = { mode: 'none', timer: null, refreshing: null };
state.auth = auth;

// SessionEnded is thrown by a request whose session could not be renewed:
// the page has gone back to the sign-in form.
class SessionEnded extends Error {}

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    return s && s.idToken && s.refreshToken ? s : null;
  } catch { return null; }
}

function saveSession(tokens, previous) {
  const s = {
    idToken: tokens.idToken, accessToken: tokens.accessToken,
    // Cognito keeps the refresh token unless it rotates it; /auth/refresh
    // does not repeat the username.
    refreshToken: tokens.refreshToken || (previous && previous.refreshToken),
    expiresAt: tokens.expiresAt, username: tokens.username || (previous && previous.username) || '',
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  scheduleTokenRefresh(s);
  showUser(s);
  return s;
}

function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
  clearTimeout(auth.timer);
  auth.timer = null;
  showUser(null);
}

function showUser(s) {
  const box = $('#user');
  if (!box) return;
  box.hidden = !s;
  $('#username').textContent = s ? s.username || 'signed in' : '';
}

function msUntilExpiry(s) {
  const t = Date.parse(s.expiresAt);
  return isNaN(t) ? 0 : t - Date.now();
}

// scheduleTokenRefresh renews the tokens a minute (at most a quarter of
// their life) before they expire.
function scheduleTokenRefresh(s) {
  clearTimeout(auth.timer);
  const left = msUntilExpiry(s);
  auth.timer = setTimeout(() => {
    auth.timer = null;
    refreshSession().catch(() => {});
  }, Math.max(1000, left - Math.min(60000, left / 4)));
}

// refreshSession gets new tokens with the refresh token; one refresh at a
// time. A refused refresh ends the session (SessionEnded); an unreachable
// server or Cognito is an ordinary error and keeps it. An open WebSocket
// then moves over to the new token (it reconnects at once and resumes), so
// the server never has to cut it off at the old one's expiry.
function refreshSession() {
  if (auth.refreshing) return auth.refreshing;
  auth.refreshing = (async () => {
    const old = loadSession();
    if (!old) throw endSession('');
    let r;
    try {
      r = await fetch('/auth/refresh', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refreshToken: old.refreshToken }),
      });
    } catch (e) {
      scheduleRetry(old);
      throw new Error('cannot reach the server to renew the session: ' + e.message);
    }
    const j = await r.json().catch(() => ({}));
    if (r.ok && j.idToken) {
      const s = saveSession(j, old);
      if (state.ws) {
        state.handover = true;
        state.ws.close(1000, 'new token');
      }
      return s;
    }
    if (r.status >= 500 || r.status === 429) {
      scheduleRetry(old);
      throw new Error('cannot renew the session now: ' + (j.detail || r.status));
    }
    throw endSession(j.detail || '');
  })().finally(() => { auth.refreshing = null; });
  return auth.refreshing;
}

// scheduleRetry tries a failed refresh again in half a minute while the
// tokens last.
function scheduleRetry(s) {
  clearTimeout(auth.timer);
  if (msUntilExpiry(s) > 0) auth.timer = setTimeout(() => refreshSession().catch(() => {}), 30000);
}

// ensureFresh renews tokens that expire within ten seconds (a timer of a
// background tab may have run late).
async function ensureFresh() {
  const s = loadSession();
  if (!s) throw endSession('');
  if (msUntilExpiry(s) < 10000) return refreshSession();
  return s;
}

// endSession drops the session and shows the sign-in form; it returns the
// error for the caller to throw.
function endSession(detail) {
  const had = !!loadSession();
  // Already on the form (another request ended the session first): keep
  // its message and what has been typed.
  if (!had && $('#signin')) return new SessionEnded('signed out');
  clearSession();
  stopFollowing();
  setConn('signed out', '');
  showSignIn(had ? 'Your session ended; sign in again.' + (detail ? ' (' + detail + ')' : '') : '');
  return new SessionEnded('signed out');
}

function withToken(init, s) {
  return { ...init, headers: { ...(init.headers || {}), Authorization: 'Bearer ' + s.idToken } };
}

// authFetch is fetch with the session's token; a 401 renews the tokens
// once and retries once.
async function authFetch(url, init = {}) {
  if (auth.mode !== 'cognito') return fetch(url, init);
  let s = await ensureFresh();
  let r = await fetch(url, withToken(init, s));
  if (r.status !== 401) return r;
  s = await refreshSession();
  r = await fetch(url, withToken(init, s));
  if (r.status !== 401) return r;
  const j = await r.json().catch(() => ({}));
  throw endSession(((j.errors || [])[0] || {}).message || j.detail || '');
}

// initPayload is the graphql-transport-ws connection_init payload.
function initPayload() {
  const s = auth.mode === 'cognito' && loadSession();
  return s ? { Authorization: 'Bearer ' + s.idToken } : {};
}

// socketReady renews the tokens before a WebSocket is opened, if they are
// about to expire; false when the session ended or the view changed.
async function socketReady(gen) {
  if (auth.mode !== 'cognito') return true;
  try { await ensureFresh(); } catch (e) {
    if (e instanceof SessionEnded) return false;
  }
  return gen === state.gen;
}

// afterClose decides what a closed WebSocket does next: 4403 (the server
// refused the token) renews the tokens first — right away the first time,
// with backoff if the server refuses the new one too.
function afterClose(ev, gen, reconnect) {
  const planned = state.handover;
  state.handover = false;
  state.lastClose = ev.code;
  let wait = state.backoff;
  if (planned) {
    wait = 0;
  } else {
    state.backoff = Math.min(state.backoff * 2, 10000);
  }
  if (ev.code === 4403 && auth.mode === 'cognito') {
    if (state.refused++ === 0) wait = 0;
    setConn('signing in again…', 'bad');
    state.retry = setTimeout(async () => {
      try { await refreshSession(); } catch (e) {
        if (e instanceof SessionEnded) return;
      }
      if (gen === state.gen) reconnect();
    }, wait);
    return;
  }
  if (!planned) {
    setConn(`reconnecting in ${(wait / 1000).toFixed(1)} s`, 'bad');
    announce('Connection lost; reconnecting');
  }
  state.retry = setTimeout(reconnect, wait);
}

function showSignIn(message) {
  document.title = 'Sign in · cloud';
  const err = el('p', { id: 'signin-error', class: 'signin-error', role: 'alert', 'aria-live': 'assertive' });
  const user = el('input', { id: 'signin-username', name: 'username', type: 'text', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'signin-error' });
  const pass = el('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    'aria-describedby': 'signin-error' });
  const button = el('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = el('form', { id: 'signin', class: 'signin', 'aria-labelledby': 'h-signin' },
    el('h1', { id: 'h-signin', text: 'Sign in' }),
    el('p', { class: 'muted', text: 'Sign in with your account of this server\u2019s user pool.' }),
    el('p', {}, el('label', { for: 'signin-username', text: 'Username' }), user),
    el('p', {}, el('label', { for: 'signin-password', text: 'Password' }), pass),
    el('p', {}, button), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    form.setAttribute('aria-busy', 'true');
    button.disabled = true;
    err.textContent = '';
    try {
      const r = await fetch('/auth/login', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: user.value.trim(), password: pass.value }),
      });
      const j = await r.json().catch(() => ({}));
      if (!r.ok || !j.idToken) throw new Error(j.detail || `sign-in failed (${r.status})`);
      saveSession(j, null);
      route();
    } catch (e) {
      pass.value = '';
      err.textContent = String(e.message || e);
      (user.value ? pass : user).focus();
    } finally {
      form.removeAttribute('aria-busy');
      button.disabled = false;
    }
  });
  $('#main').replaceChildren(form);
  if (message) err.textContent = message;
  user.focus();
}

function signOut() {
  // Revoke the refresh token in Cognito, so the session ends there too;
  // the page does not wait for it (and forgets the tokens regardless).
  const s = loadSession();
  if (s && s.refreshToken) {
    fetch('/auth/logout', {method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({refreshToken: s.refreshToken})}).catch(() => {});
  }
  clearSession();
  stopFollowing();
  setConn('signed out', '');
  showSignIn('');
  announce('Signed out');
}

// start reads how the server authenticates, then shows the dashboard or
// the sign-in form.
async function start() {
  $('#signout').addEventListener('click', signOut);
  try {
    const r = await fetch('/auth/config');
    if (r.ok) auth.mode = (await r.json()).mode || 'none';
  } catch {
    // An older server without /auth/config: no authentication.
  }
  if (auth.mode === 'cognito') {
    const s = loadSession();
    if (!s) { setConn('signed out', ''); showSignIn(''); return; }
    showUser(s);
    scheduleTokenRefresh(s);
  }
  route();
}

function announce(text) {
  const live = $('#live');
  live.append(el('p', { text }));
  while (live.childElementCount > 5) live.firstElementChild.remove();
}

function setConn(text, cls) {
  const c = $('#conn');
  c.textContent = text;
  c.className = 'conn ' + (cls || '');
}

function badge(status) {
  return el('span', { class: 'badge st-' + status, 'data-status': status, text: status.replace(/_/g, ' ') });
}

// ---- formats: the CLI's, exactly -------------------------------------------

// fmtDateTime formats a date and time as the CLI's tables do (cmd/cloud
// ts): 2026-12-02 01:42:44, local time.
function fmtDateTime(t) {
  if (!t) return '-';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${fmtClock(d)}`;
}

// fmtClock formats the time of an event as every printer of the CLI does
// (monitor.Clock): 01:42:44, local time.
function fmtClock(t) {
  const d = t instanceof Date ? t : new Date(t);
  if (isNaN(d)) return String(t);
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// nanos reads an RFC 3339 time with up to nanoseconds as [milliseconds
// since the epoch, nanoseconds past them]; Date keeps milliseconds only.
function nanos(t) {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(t || '');
  if (!m) return null;
  const ms = Date.parse(m[1] + m[3]);
  if (isNaN(ms)) return null;
  const ns = Number(((m[2] || '') + '000000000').slice(0, 9));
  return [ms + Math.floor(ns / 1e6), ns % 1e6];
}

// nanosBetween is the time from a to b in nanoseconds; null when either
// is missing.
function nanosBetween(a, b) {
  const x = nanos(a), y = nanos(b);
  if (!x || !y) return null;
  return (y[0] - x[0]) * 1e6 + (y[1] - x[1]);
}

// fmtDuration formats a duration in nanoseconds as the CLI does
// (cmd/cloud duration): "-" for none, 850ms, 12.3s, else Go's
// Duration.String of it rounded to the second (4m5s, 1h2m5s).
function fmtDuration(ns) {
  if (ns === null || ns === undefined || isNaN(ns)) return '-';
  ns = Math.round(ns);
  if (ns <= 0) return '-';
  if (ns < 1e9) return Math.floor(ns / 1e6) + 'ms';
  if (ns < 60e9) return fixed1(Math.floor(ns / 1e9) + (ns % 1e9) / 1e9) + 's';
  let s = Math.floor((ns + 5e8) / 1e9); // Round(time.Second): halves away from zero
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  s %= 60;
  return (h ? `${h}h${m}m` : `${m}m`) + `${s}s`;
}

// fixed1 is Go's %.1f: correctly rounded, exact halves to even (toFixed
// rounds them up).
function fixed1(x) {
  if (Number.isInteger(x * 4) && !Number.isInteger(x * 2)) {
    let n = Math.floor(x * 10);
    if (n % 2) n++;
    return (n / 10).toFixed(1);
  }
  return x.toFixed(1);
}

// fmtSeconds formats a duration given in seconds (Operation.duration).
function fmtSeconds(s) {
  return s === null || s === undefined ? '-' : fmtDuration(s * 1e9);
}

// counts reads a JSON map of counts (an operation's summary, a stack's
// changes), keeping the integer ones, as the CLI does.
function counts(v) {
  const m = {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) return m;
  for (const [k, n] of Object.entries(v)) if (Number.isInteger(n)) m[k] = n;
  return m;
}

// summaryText is an operation's summary (stack counts by status) as the
// CLI's history prints it: "deployed:3 failed:1".
function summaryText(summary) {
  const c = counts(summary);
  const out = ['deployed', 'unchanged', 'previewed', 'destroyed', 'in_sync', 'drifted', 'failed', 'skipped', 'cancelled', 'interrupted']
    .filter((k) => k in c).map((k) => `${k}:${c[k]}`);
  return out.length ? out.join(' ') : '-';
}

// changesText is a stack's resource changes as the CLI prints them:
// "+2 ~1 -1" (create, update, replace ±, delete, same =; zeros left out).
function changesText(changes) {
  const c = counts(changes);
  const sym = { create: '+', update: '~', replace: '±', delete: '-', same: '=' };
  const out = Object.keys(sym).filter((k) => c[k] > 0).map((k) => sym[k] + c[k]);
  return out.length ? out.join(' ') : '-';
}

// firstLine is the first line of an error, as a stack's reason says it.
function firstLine(text) {
  return String(text || '').trim().split('\n')[0];
}

// The formats, for tests (window.__dashboard.formats).
state.formats = { dateTime: fmtDateTime, clock: fmtClock, duration: fmtDuration, nanosBetween, summary: summaryText, changes: changesText };

const RUNNING = new Set(['deploying', 'destroying', 'refreshing']);

// finished says a stack status is a final one (monitor.Finished).
function finished(status) {
  return !!status && status !== 'pending' && status !== 'not_deployed' && !RUNNING.has(status);
}

function stopFollowing() {
  state.gen++;
  clearTimeout(state.timer);
  clearTimeout(state.retry);
  state.timer = state.retry = null;
  if (state.ws) {
    const ws = state.ws;
    state.ws = null;
    ws.close();
  }
}

// ---- routing ---------------------------------------------------------------

function route() {
  if (auth.mode === 'cognito' && !loadSession()) { endSession(''); return; }
  const m0 = (location.hash || '').match(/^#\/d\/([^?]+)\?(.*)$/);
  if (m0 && state.view && $('#stackgraph')) {
    const p = new URLSearchParams(m0[2]);
    if (decodeURIComponent(m0[1]) === state.view.id && p.get('env') === state.view.env) {
      // Same page, another stack (or none): no reload, no new subscription.
      if (p.get('stack')) openStack(p.get('stack')); else closeStack();
      return;
    }
  }
  stopFollowing();
  const h = location.hash || '#/';
  const m = h.match(/^#\/d\/([^?]+)(?:\?(.*))?$/);
  const main = $('#main');
  main.replaceChildren(el('p', { text: 'Loading…' }));
  if (m) {
    const params = new URLSearchParams(m[2] || '');
    showDeployment(decodeURIComponent(m[1]), params.get('env'), params.get('stack'));
  } else {
    showList();
  }
}

function showError(err) {
  $('#main').replaceChildren(el('h1', { text: 'Error' }), el('p', { class: 'error', role: 'alert', text: String(err.message || err) }),
    el('p', {}, el('a', { href: '#/', text: 'Back to the deployments' })));
}

// ---- deployments list ------------------------------------------------------

const LIST_QUERY = `query { deployments(first: 500) { nodes { id status organization project environments { name status } } } }`;

async function showList() {
  const gen = state.gen;
  state.view = null;
  document.title = 'Deployments · cloud';
  let data;
  try { data = await gql(LIST_QUERY); } catch (e) { if (gen === state.gen) showError(e); return; }
  if (gen !== state.gen) return;
  const tbody = el('tbody');
  const table = el('table', { class: 'list', id: 'deployments' },
    el('caption', { text: 'Deployments and the status of their environments' }),
    el('thead', {}, el('tr', {}, ...['Deployment', 'Organization', 'Project', 'Status', 'Environments'].map((t) => el('th', { scope: 'col', text: t })))),
    tbody);
  const main = $('#main');
  main.replaceChildren(el('h1', { text: 'Deployments' }), table);
  renderList(tbody, data.deployments.nodes);
  // Live: every operation or stack status change of any deployment makes
  // the list re-read (coalesced); a slow poll catches what has no event
  // (a deployment created or deleted).
  let pending = null;
  const refresh = () => {
    if (pending || gen !== state.gen) return;
    pending = setTimeout(async () => {
      pending = null;
      if (gen !== state.gen) return;
      try {
        const d = await gql(LIST_QUERY);
        if (gen === state.gen) renderList(tbody, d.deployments.nodes);
      } catch (e) {
        // The next event or poll tries again.
      }
    }, 250);
  };
  followAll(gen, ['operation.status', 'operation.plan', 'stack.status'], refresh);
  const poll = () => {
    if (gen !== state.gen) return;
    refresh();
    state.timer = setTimeout(poll, 15000);
  };
  state.timer = setTimeout(poll, 15000);
}

// followAll subscribes to the events of every deployment (of the given
// kinds, from now on) and calls onChange for each batch; it reconnects with
// backoff, calling onChange again on reconnect for what it missed.
async function followAll(gen, kinds, onChange, again = false) {
  if (gen !== state.gen || !await socketReady(gen)) return;
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql';
  const ws = new WebSocket(url, 'graphql-transport-ws');
  state.ws = ws;
  setConn('connecting…', '');
  const send = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
  const subscribe = () => send({ id: '1', type: 'subscribe', payload: {
    query: 'subscription($kinds: [String!]) { events(kinds: $kinds) { events { globalSeq } overflow { resumeAfter } } }',
    variables: { kinds },
  } });
  ws.onopen = () => send({ type: 'connection_init', payload: initPayload() });
  ws.onmessage = (m) => {
    if (state.ws !== ws) return;
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    switch (msg.type) {
      case 'connection_ack':
        if (again) onChange(); // back after a loss: catch up
        state.backoff = 500;
        state.refused = 0;
        setConn('live', 'ok');
        subscribe();
        break;
      case 'ping':
        send({ type: 'pong' });
        break;
      case 'next':
        state.listEvents++;
        onChange();
        break;
      case 'complete': // cut off (it fell behind): subscribe again, re-read
        subscribe();
        onChange();
        break;
    }
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws || gen !== state.gen) return;
    state.ws = null;
    state.reconnects++;
    afterClose(ev, gen, () => followAll(gen, kinds, onChange, true));
  };
}

function renderList(tbody, nodes) {
  if (nodes.length === 0) {
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 5, text: 'No deployments yet: create one with `cloud init`.' })));
    return;
  }
  const key = JSON.stringify(nodes);
  if (tbody.dataset.key === key) return;
  // Keep the focused link focused across a re-render.
  const focused = document.activeElement && document.activeElement.getAttribute('href');
  const rows = nodes.map((d) => {
    const first = d.environments[0];
    const href = '#/d/' + encodeURIComponent(d.id) + (first ? '?env=' + encodeURIComponent(first.name) : '');
    const envs = el('ul', { class: 'envs' }, ...d.environments.map((e) => el('li', {},
      el('a', { href: '#/d/' + encodeURIComponent(d.id) + '?env=' + encodeURIComponent(e.name), 'aria-label': d.id + ' ' + e.name + ': ' + e.status, text: e.name }), ' ', badge(e.status))));
    const old = tbody.querySelector(`tr[data-id="${CSS.escape(d.id)}"]`);
    if (old && old.dataset.status !== d.status) announce(d.id + ' is ' + d.status);
    return el('tr', { 'data-id': d.id, 'data-status': d.status },
      el('th', { scope: 'row' }, el('a', { href, class: 'dep', text: d.id })),
      el('td', { text: d.organization }), el('td', { text: d.project }),
      el('td', {}, badge(d.status)), el('td', {}, envs));
  });
  tbody.replaceChildren(...rows);
  tbody.dataset.key = key;
  if (focused) {
    const f = tbody.querySelector(`a[href="${CSS.escape(focused)}"]`);
    if (f) f.focus();
  }
}

// ---- deployment page -------------------------------------------------------

const DEP_QUERY = `query($id: ID!, $env: String!) {
  deployment(id: $id) {
    id organization project domain status
    environments { name status }
    environment(name: $env) {
      name status region
      stacks { name layer enabled status reason dependencies resourceCount }
      outputs { stack name value secret redacted }
    }
    operations(environment: $env, first: 20) {
      nodes { id kind status startedAt finishedAt duration actor summary stacks { stack status reason error startedAt finishedAt changes resourceCount } }
    }
  }
}`;

async function showDeployment(id, env, stack) {
  const gen = state.gen;
  let data;
  try {
    if (!env) {
      const d = await gql(`query($id: ID!) { deployment(id: $id) { environments { name } } }`, { id });
      if (gen !== state.gen) return;
      if (!d.deployment) throw new Error('no deployment ' + id);
      if (!d.deployment.environments.length) throw new Error(id + ' has no environments');
      location.replace('#/d/' + encodeURIComponent(id) + '?env=' + encodeURIComponent(d.deployment.environments[0].name));
      return;
    }
    data = await gql(DEP_QUERY, { id, env });
  } catch (e) { if (gen === state.gen) showError(e); return; }
  if (gen !== state.gen) return;
  const dep = data.deployment;
  if (!dep) { showError(new Error('no deployment ' + id)); return; }
  if (!dep.environment) { showError(new Error(id + ' has no environment ' + env)); return; }
  document.title = dep.id + ' ' + env + ' · cloud';
  state.view = { id, env };
  state.lastSeq = 0;
  state.stacks = new Map();
  state.stackSeq = new Map();
  state.selected = null;
  state.events = [];

  const main = $('#main');
  const envNav = el('nav', { 'aria-label': 'Environments', class: 'envnav' }, el('ul', {}, ...dep.environments.map((e) =>
    el('li', {}, el('a', {
      href: '#/d/' + encodeURIComponent(id) + '?env=' + encodeURIComponent(e.name),
      'aria-current': e.name === env ? 'page' : null, text: e.name,
    })))));
  main.replaceChildren(
    el('p', { class: 'crumbs' }, el('a', { href: '#/', text: '← Deployments' })),
    el('h1', {}, dep.id + ' ', el('span', { class: 'muted', text: dep.organization + '/' + dep.project + ' · ' + env }), ' ', el('span', { id: 'envstatus' })),
    envNav,
    el('section', { 'aria-labelledby': 'h-graph' }, el('h2', { id: 'h-graph', text: 'Stack graph' }),
      el('p', { class: 'hint', text: 'Arrow keys move between stacks; Enter (or a click) opens the stack\u2019s details.' }),
      el('div', { id: 'graph', class: 'graph' })),
    el('section', { id: 'stack-details', class: 'details', 'aria-labelledby': 'h-details', hidden: true }),
    el('section', { 'aria-labelledby': 'h-stacks' }, el('h2', { id: 'h-stacks', text: 'Stacks' }), el('div', { id: 'stacks' })),
    el('div', { class: 'cols' },
      el('section', { 'aria-labelledby': 'h-log' }, el('h2', { id: 'h-log', text: 'Event log' }),
        el('ol', { id: 'log', class: 'log', tabindex: 0, 'aria-label': 'Event log, oldest first' })),
      el('section', { 'aria-labelledby': 'h-out' }, el('h2', { id: 'h-out', text: 'Outputs' }), el('div', { id: 'outputs' }))),
    el('section', { 'aria-labelledby': 'h-hist' }, el('h2', { id: 'h-hist', text: 'History' }), el('div', { id: 'history' })),
  );
  applyDeployment(dep, 0, true);
  if (stack) openStack(stack, false);
  connect(gen);
}

function applyDeployment(dep, startSeq, rebuildGraph) {
  const envData = dep.environment;
  $('#envstatus').replaceChildren(badge(envData.status));
  const stacks = envData.stacks.filter((s) => s.enabled);
  const shape = JSON.stringify(stacks.map((s) => [s.name, s.layer, s.dependencies]));
  if (rebuildGraph || state.shape !== shape) {
    state.shape = shape;
    const old = state.stacks;
    state.stacks = new Map(stacks.map((s) => [s.name, { ...s, status: (old.get(s.name) || s).status, reason: (old.get(s.name) || s).reason }]));
    drawGraph(stacks);
    drawStackTable(stacks);
  }
  state.ops = dep.operations.nodes;
  // While an operation runs, its events say each of its stacks' state
  // (pending until its stack.status event); otherwise the store's states
  // win unless an event newer than this query arrived.
  const run = state.running;
  for (const s of stacks) {
    const live = run && run.stacks.get(s.name);
    if (live) setStackStatus(s.name, live.status, live.reason, false);
    else if ((state.stackSeq.get(s.name) || 0) <= startSeq) setStackStatus(s.name, s.status, s.reason || failureOf(s.name, s.status), false);
    const cur = state.stacks.get(s.name);
    if (cur) cur.resourceCount = s.resourceCount;
    const rc = document.querySelector(`#stacks tr[data-stack="${CSS.escape(s.name)}"] .rc`);
    if (rc) rc.textContent = String(s.resourceCount);
  }
  state.outputs = envData.outputs;
  drawOutputs(envData.outputs);
  drawHistory(dep.operations.nodes);
  renderDetails();
}

const BOX_W = 168, BOX_H = 48, COL_GAP = 72, ROW_GAP = 18, PAD = 12, TOP = PAD + 36, LANE = PAD + 26;

// failureOf is the first line of the error of a failed (or interrupted)
// stack's last run: its reason when the state has none.
function failureOf(name, status) {
  if (status !== 'failed' && status !== 'interrupted') return '';
  const last = lastRun(name);
  return last ? firstLine(last.run.reason || last.run.error) : '';
}

function drawGraph(stacks) {
  const layers = [];
  for (const s of stacks) (layers[s.layer] ||= []).push(s);
  const cols = layers.map((l) => (l || []).sort((a, b) => a.name.localeCompare(b.name)));
  const rows = Math.max(1, ...cols.map((c) => c.length));
  const width = PAD * 2 + cols.length * BOX_W + Math.max(0, cols.length - 1) * COL_GAP;
  const height = TOP + PAD + rows * BOX_H + (rows - 1) * ROW_GAP;
  const root = svg('svg', {
    id: 'stackgraph', viewBox: `0 0 ${width} ${height}`, width, height, role: 'group',
    'aria-label': `Stack graph: ${stacks.length} stacks in ${cols.length} layers; arrows point from a dependency to the stack that needs it`,
  });
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
  defs.append(marker);
  root.append(defs);
  const pos = new Map();
  cols.forEach((col, li) => {
    const x = PAD + li * (BOX_W + COL_GAP);
    const g = svg('g', { class: 'layer', 'data-layer': li });
    const label = svg('text', { x: x + BOX_W / 2, y: PAD + 12, class: 'layer-label', 'text-anchor': 'middle' });
    label.textContent = 'layer ' + li;
    g.append(label);
    const offset = (rows - col.length) * (BOX_H + ROW_GAP) / 2;
    col.forEach((s, ri) => pos.set(s.name, { x, y: TOP + offset + ri * (BOX_H + ROW_GAP), layer: li, row: ri }));
    root.append(g);
  });
  const edges = svg('g', { class: 'edges', 'aria-hidden': 'true' });
  for (const s of stacks) {
    const to = pos.get(s.name);
    for (const dep of s.dependencies) {
      const from = pos.get(dep);
      if (!from) continue;
      const x1 = from.x + BOX_W, y1 = from.y + BOX_H / 2, x2 = to.x - 2, y2 = to.y + BOX_H / 2;
      let d;
      if (to.layer - from.layer > 1) {
        // Skips a layer: run along the lane above the boxes, not through them.
        const h = COL_GAP / 2;
        d = `M ${x1} ${y1} C ${x1 + h} ${y1}, ${x1 + h} ${LANE}, ${x1 + COL_GAP} ${LANE} L ${x2 - COL_GAP} ${LANE} C ${x2 - h} ${LANE}, ${x2 - h} ${y2}, ${x2} ${y2}`;
      } else {
        const mx = (x1 + x2) / 2;
        d = `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`;
      }
      edges.append(svg('path', { class: 'edge', 'data-from': dep, 'data-to': s.name, d, 'marker-end': 'url(#arrow)' }));
    }
  }
  root.insertBefore(edges, root.querySelector('g.layer'));
  for (const s of stacks) {
    const p = pos.get(s.name);
    const g = svg('g', {
      class: 'node', tabindex: 0, role: 'button', 'data-stack': s.name, 'data-layer': p.layer, 'data-row': p.row,
      transform: `translate(${p.x} ${p.y})`,
    });
    const title = svg('title');
    g.append(title, svg('rect', { width: BOX_W, height: BOX_H, rx: 6, class: 'box' }));
    const name = svg('text', { x: 10, y: 20, class: 'name' });
    name.textContent = s.name;
    const st = svg('text', { x: 10, y: 38, class: 'status' });
    g.append(name, st);
    g.addEventListener('keydown', graphKey);
    g.addEventListener('click', () => openStack(s.name));
    root.querySelector(`g.layer[data-layer="${p.layer}"]`).append(g);
  }
  $('#graph').replaceChildren(root);
  for (const s of stacks) paintNode(s.name);
}

function graphKey(ev) {
  const g = ev.currentTarget;
  const layer = +g.dataset.layer, row = +g.dataset.row;
  const find = (l, r) => {
    const col = [...document.querySelectorAll(`#stackgraph g.node[data-layer="${l}"]`)];
    if (!col.length) return null;
    return col.find((n) => +n.dataset.row === r) || col[Math.min(r, col.length - 1)];
  };
  let next = null;
  switch (ev.key) {
    case 'ArrowRight': next = find(layer + 1, row); break;
    case 'ArrowLeft': next = find(layer - 1, row); break;
    case 'ArrowDown': next = find(layer, row + 1); break;
    case 'ArrowUp': next = row > 0 ? find(layer, row - 1) : null; break;
    case 'Enter': case ' ': ev.preventDefault(); openStack(g.dataset.stack); return;
    default: return;
  }
  ev.preventDefault();
  if (next) next.focus();
}

// ---- stack details ---------------------------------------------------------

function stackHash(name) {
  const p = new URLSearchParams({ env: state.view.env });
  if (name) p.set('stack', name);
  return '#/d/' + encodeURIComponent(state.view.id) + '?' + p;
}

// openStack shows one stack's details: state, error, dependencies both
// ways, its last run, its outputs (secrets masked) and its latest events.
// The address says which stack is open, so it can be shared or reloaded.
function openStack(name, focus = true) {
  if (!state.view || !state.stacks.has(name)) return;
  state.selected = name;
  if (location.hash !== stackHash(name)) history.replaceState(null, '', stackHash(name));
  const sec = $('#stack-details');
  const fresh = sec.hidden || sec.dataset.stack !== name;
  if (fresh) sec.replaceChildren();
  renderDetails();
  sec.hidden = false;
  // Opened at the newest events: scrolled once laid out (not while hidden).
  const list = $('#stack-events');
  if (fresh && list) list.scrollTop = list.scrollHeight;
  if (focus) $('#h-details').focus();
}

function closeStack() {
  const name = state.selected;
  state.selected = null;
  const sec = $('#stack-details');
  if (!sec) return;
  sec.hidden = true;
  sec.replaceChildren();
  delete sec.dataset.stack;
  if (state.view && location.hash !== stackHash(null)) history.replaceState(null, '', stackHash(null));
  const node = name && document.querySelector(`#stackgraph g.node[data-stack="${CSS.escape(name)}"]`);
  if (node) node.focus();
}

// lastRun is the newest operation that ran the stack, and its entry.
function lastRun(name) {
  for (const op of state.ops) {
    const r = (op.stacks || []).find((x) => x.stack === name);
    if (r && r.startedAt) return { op, run: r };
  }
  return null;
}

function renderDetails() {
  const name = state.selected;
  const sec = $('#stack-details');
  if (!name || !sec) return;
  const s = state.stacks.get(name);
  if (!s) { closeStack(); return; }
  const dependents = [...state.stacks.values()].filter((x) => x.dependencies.includes(name)).map((x) => x.name).sort();
  const row = (label, ...value) => [el('dt', { text: label }), el('dd', {}, ...value)];
  const stackLinks = (names) => names.length ? names.flatMap((n, i) => [i ? ', ' : null,
    el('a', { href: stackHash(n), 'data-goto': n, text: n })]) : ['—'];
  const facts = [
    ...row('Status', badge(s.status)),
    ...(s.reason ? row('Reason', el('span', { id: 'stack-reason', text: s.reason })) : []),
    ...row('Layer', String(s.layer)),
    ...row('Needs', ...stackLinks(s.dependencies)),
    ...row('Needed by', ...stackLinks(dependents)),
    ...row('Resources', String(s.resourceCount)),
  ];
  const last = lastRun(name);
  if (last) {
    const { op, run } = last;
    facts.push(...row('Last run', el('code', { text: op.id }), ` ${op.kind}, `, badge(run.status),
      ' ', el('time', { datetime: run.startedAt, text: fmtDateTime(run.startedAt) }),
      run.finishedAt ? ` · ${fmtDuration(nanosBetween(run.startedAt, run.finishedAt))}` : ' · running'));
    if (run.changes && Object.keys(counts(run.changes)).length) {
      facts.push(...row('Changes', el('span', { id: 'stack-changes', text: changesText(run.changes) })));
    }
    if (run.error) facts.push(...row('Error', el('pre', { class: 'error', id: 'stack-error', text: run.error })));
  }
  const outs = state.outputs.filter((o) => o.stack === name);
  const outTable = outs.length ? el('table', { class: 'list', id: 'stack-outputs' },
    el('caption', { class: 'sr-only', text: 'Outputs of ' + name + '; secrets are masked' }),
    el('tbody', {}, ...outs.map((o) => {
      const masked = o.secret || o.redacted;
      return el('tr', { 'data-output': o.name, 'data-secret': masked ? 'true' : 'false' },
        el('th', { scope: 'row', text: o.name }),
        el('td', {}, masked ? el('span', { class: 'secret', 'aria-label': 'secret, masked', text: '•••••• secret' })
          : el('code', { text: typeof o.value === 'string' ? o.value : JSON.stringify(o.value) })));
    }))) : el('p', { class: 'muted', text: 'No outputs.' });
  // The latest events follow the newest (opened at the bottom, and kept
  // there as events arrive) unless the reader has scrolled up in them.
  const oldList = $('#stack-events');
  const keep = oldList && sec.dataset.stack === name && !atBottom(oldList) ? oldList.scrollTop : null;
  const evs = state.events.filter((e) => e.stack === name).slice(-MAX_STACK_EVENTS);
  const evList = evs.length ? el('ol', { class: 'log short', id: 'stack-events', tabindex: 0, 'aria-label': 'Latest events of ' + name + ', oldest first' },
    ...evs.map(stackEventItem)) :
    el('p', { class: 'muted', id: 'stack-events-none', text: 'No events since this page opened.' });
  const close = el('button', { type: 'button', class: 'close', text: 'Close (Esc)' });
  close.addEventListener('click', closeStack);
  const h = el('h2', { id: 'h-details', tabindex: -1 }, 'Stack ', el('span', { class: 'name', text: name }));
  sec.replaceChildren(
    el('div', { class: 'details-head' }, h, close),
    el('div', { class: 'cols' },
      el('div', {}, el('dl', { class: 'facts' }, ...facts)),
      el('div', {}, el('h3', { text: 'Outputs' }), outTable)),
    el('h3', { text: 'Latest events' }), evList);
  sec.setAttribute('data-stack', name);
  sec.setAttribute('data-status', s.status);
  if (evs.length) evList.scrollTop = keep === null ? evList.scrollHeight : keep;
  for (const a of sec.querySelectorAll('a[data-goto]')) {
    a.addEventListener('click', (ev) => { ev.preventDefault(); openStack(a.dataset.goto); });
  }
}

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && state.selected) closeStack();
});

function paintNode(name) {
  const s = state.stacks.get(name);
  const g = document.querySelector(`#stackgraph g.node[data-stack="${CSS.escape(name)}"]`);
  if (!s || !g) return;
  g.setAttribute('class', 'node st-' + s.status);
  g.setAttribute('data-status', s.status);
  const label = `${name}: ${s.status.replace(/_/g, ' ')}${s.reason ? ' (' + s.reason + ')' : ''}`;
  g.setAttribute('aria-label', label + (s.dependencies.length ? '; needs ' + s.dependencies.join(', ') : ''));
  g.querySelector('title').textContent = label;
  g.querySelector('text.status').textContent = s.status.replace(/_/g, ' ');
}

function drawStackTable(stacks) {
  const sorted = [...stacks].sort((a, b) => a.layer - b.layer || a.name.localeCompare(b.name));
  $('#stacks').replaceChildren(el('table', { class: 'list' },
    el('caption', { class: 'sr-only', text: 'Stacks, by layer' }),
    el('thead', {}, el('tr', {}, ...['Stack', 'Layer', 'Status', 'Reason', 'Needs', 'Resources'].map((t) => el('th', { scope: 'col', text: t })))),
    el('tbody', {}, ...sorted.map((s) => el('tr', { 'data-stack': s.name, tabindex: -1 },
      el('th', { scope: 'row' }, el('a', { href: stackHash(s.name), 'data-goto': s.name, text: s.name })), el('td', { text: String(s.layer) }),
      el('td', { class: 'st' }, badge(s.status)), el('td', { class: 'reason', text: s.reason || '' }),
      el('td', { text: s.dependencies.join(', ') || '—' }), el('td', { class: 'rc', text: String(s.resourceCount) }))))));
}

function setStackStatus(name, status, reason, fromEvent) {
  const s = state.stacks.get(name);
  if (!s || !status) return;
  const changed = s.status !== status;
  s.status = status;
  s.reason = reason || '';
  paintNode(name);
  if (name === state.selected) renderDetails();
  const row = document.querySelector(`#stacks tr[data-stack="${CSS.escape(name)}"]`);
  if (row) {
    row.querySelector('.st').replaceChildren(badge(status));
    row.querySelector('.reason').textContent = s.reason;
    row.dataset.status = status;
  }
  if (changed && fromEvent) announce(`${name} ${status.replace(/_/g, ' ')}`);
}

function drawOutputs(outputs) {
  if (!outputs.length) { $('#outputs').replaceChildren(el('p', { class: 'muted', text: 'No outputs yet.' })); return; }
  $('#outputs').replaceChildren(el('table', { class: 'list', id: 'outputs-table' },
    el('caption', { class: 'sr-only', text: 'Stack outputs; secrets are masked' }),
    el('thead', {}, el('tr', {}, ...['Output', 'Value'].map((t) => el('th', { scope: 'col', text: t })))),
    el('tbody', {}, ...outputs.map((o) => {
      const masked = o.secret || o.redacted;
      const value = masked ? el('span', { class: 'secret', 'aria-label': 'secret, masked', text: '•••••• secret' })
        : el('code', { text: typeof o.value === 'string' ? o.value : JSON.stringify(o.value) });
      return el('tr', { 'data-output': o.stack + '.' + o.name, 'data-secret': masked ? 'true' : 'false' },
        el('th', { scope: 'row', text: o.stack + '.' + o.name }), el('td', {}, value));
    }))));
}

function drawHistory(ops) {
  if (!ops.length) { $('#history').replaceChildren(el('p', { class: 'muted', text: 'No operations yet.' })); return; }
  $('#history').replaceChildren(el('table', { class: 'list', id: 'history-table' },
    el('caption', { class: 'sr-only', text: 'Operations, newest first' }),
    el('thead', {}, el('tr', {}, ...['Operation', 'Kind', 'Status', 'Started', 'Duration', 'Actor', 'Summary', 'Stacks'].map((t) => el('th', { scope: 'col', text: t })))),
    el('tbody', {}, ...ops.map((o) => el('tr', { 'data-op': o.id, 'data-kind': o.kind, 'data-status': o.status },
      el('th', { scope: 'row' }, el('code', { text: o.id })), el('td', { text: o.kind }), el('td', {}, badge(o.status)),
      el('td', { class: 'started' }, el('time', { datetime: o.startedAt, text: fmtDateTime(o.startedAt) })),
      el('td', { class: 'duration', 'data-seconds': o.duration,
        text: o.finishedAt ? fmtDuration(nanosBetween(o.startedAt, o.finishedAt)) : fmtSeconds(o.duration) + ' (running)' }),
      el('td', { text: o.actor }), el('td', { class: 'summary', text: o.finishedAt ? summaryText(o.summary) : '-' }),
      el('td', { class: 'opstacks', text: o.stacks.map((s) => s.stack + ' ' + s.status.replace(/_/g, ' ')).join(', ') }))))));
}

// ---- events ----------------------------------------------------------------

const MAX_LOG = 1000, MAX_STACK_EVENTS = 50;

// atBottom says a scrolled list shows its end (its newest entries).
function atBottom(list) {
  return list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
}

function stackEventItem(e) {
  return el('li', { 'data-seq': e.globalSeq, 'data-kind': e.kind },
    el('time', { datetime: e.time, text: fmtClock(e.time) }), ' ',
    el('span', { class: 'kind', text: e.kind }), ' ', el('span', { text: summary(e) }));
}

// appendStackEvent adds an event to the open stack's latest events,
// following it when the list was at its end.
function appendStackEvent(e) {
  const list = $('#stack-events');
  if (!list) { renderDetails(); return; } // the first one replaces "No events"
  const stick = atBottom(list);
  list.append(stackEventItem(e));
  while (list.childElementCount > MAX_STACK_EVENTS) list.firstElementChild.remove();
  if (stick) list.scrollTop = list.scrollHeight;
}

function summary(e) {
  const p = e.payload || {};
  switch (e.kind) {
    case 'operation.status': return `${p.kind || 'operation'} ${p.status || ''}${p.error ? ': ' + p.error : ''}`;
    case 'operation.plan': return `plan: ${(p.stacks || []).length} stacks`;
    case 'stack.status': {
      const c = p.changes && Object.keys(counts(p.changes)).length ? ' ' + changesText(p.changes) : '';
      const why = p.reason ? ' — ' + p.reason : p.error ? ': ' + firstLine(p.error) : '';
      return `${p.status || ''}${c}${why}`;
    }
    case 'log': return String(p.message || p.msg || p.text || p.line || JSON.stringify(p));
    default: {
      if (typeof p.type === 'string' && p.type.startsWith('resource.')) {
        // The CLI's log line: op, type and name, what it changes.
        const end = { 'resource.done': ' done', 'resource.failed': ' failed' }[p.type] || '';
        const diff = Array.isArray(p.diffs) && p.diffs.length ? ` [diff: ${p.diffs.join(', ')}]` : '';
        return [p.op, p.resource, p.name].filter(Boolean).join(' ') + end + diff;
      }
      if (typeof p.type === 'string') {
        const urn = typeof p.urn === 'string' ? p.urn.split('::').pop() : '';
        const extra = p.changes ? changesText(p.changes) : p.message ? String(p.message).trim() : '';
        return [p.type, urn, extra].filter(Boolean).join(' ');
      }
      for (const [k, v] of Object.entries(p)) {
        if (/Event$/.test(k) && v && typeof v === 'object') {
          const md = v.metadata || v;
          const what = [md.op, md.type, md.urn && md.urn.split('::').pop()].filter(Boolean).join(' ');
          return k.replace(/Event$/, '') + (what ? ': ' + what : v.message ? ': ' + String(v.message).trim() : '');
        }
      }
      const s = JSON.stringify(p);
      return s.length > 160 ? s.slice(0, 157) + '…' : s;
    }
  }
}

function appendLog(e) {
  const log = $('#log');
  if (!log) return;
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
  log.append(el('li', { 'data-seq': e.globalSeq, 'data-kind': e.kind, 'data-stack': e.stack },
    el('time', { datetime: e.time, text: fmtClock(e.time) }), ' ',
    el('span', { class: 'kind', text: e.kind }), ' ',
    e.stack ? el('strong', { text: e.stack }) : null, e.stack ? ' ' : null,
    el('span', { text: summary(e) })));
  while (log.childElementCount > MAX_LOG) log.firstElementChild.remove();
  if (stick) log.scrollTop = log.scrollHeight;
}

function onEvents(events) {
  for (const e of events) {
    if (e.globalSeq <= state.lastSeq) continue; // already seen (a replay after a reconnect)
    state.lastSeq = e.globalSeq;
    appendLog(e);
    state.events.push(e);
    if (state.events.length > MAX_LOG) state.events.splice(0, state.events.length - MAX_LOG);
    if (e.stack && e.stack === state.selected) appendStackEvent(e);
    const p = e.payload || {};
    const run = state.running;
    if (e.kind === 'stack.status' && e.stack) {
      const reason = p.reason || firstLine(p.error);
      state.stackSeq.set(e.stack, e.globalSeq);
      if (run && run.id === e.operationId) run.stacks.set(e.stack, { status: p.status, reason });
      setStackStatus(e.stack, p.status, reason, true);
      // Its resources and outputs are stored with this status: show them now.
      if (finished(p.status)) scheduleRefresh();
    } else if (e.kind === 'operation.status') {
      announce(`${p.kind || 'operation'} ${p.status || ''}`);
      if (p.status === 'running' || p.status === 'queued') {
        state.running = { id: e.operationId, stacks: new Map() };
      } else if (run && run.id === e.operationId) {
        state.running = null; // over: the stored states are the truth again
      }
      scheduleRefresh();
    } else if (e.kind === 'operation.plan') {
      if (!run || run.id !== e.operationId) state.running = { id: e.operationId, stacks: new Map() };
      // Every stack of the plan is pending until its stack.status says otherwise.
      for (const name of p.stacks || []) {
        if (typeof name !== 'string' || state.running.stacks.has(name)) continue;
        state.running.stacks.set(name, { status: 'pending', reason: '' });
        state.stackSeq.set(name, e.globalSeq);
        setStackStatus(name, 'pending', '', false);
      }
      scheduleRefresh();
    }
  }
}

// scheduleRefresh re-reads the environment (states, outputs, history) soon,
// coalescing bursts of events into one query.
function scheduleRefresh() {
  if (state.refreshing) return;
  const gen = state.gen;
  state.refreshing = setTimeout(async () => {
    state.refreshing = null;
    if (gen !== state.gen || !state.view) return;
    const startSeq = state.lastSeq;
    try {
      const d = await gql(DEP_QUERY, { id: state.view.id, env: state.view.env });
      if (gen === state.gen && d.deployment && d.deployment.environment) applyDeployment(d.deployment, startSeq, false);
    } catch (e) {
      // The next event tries again.
    }
  }, 250);
}

async function connect(gen) {
  if (gen !== state.gen || !await socketReady(gen)) return;
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/graphql';
  const ws = new WebSocket(url, 'graphql-transport-ws');
  state.ws = ws;
  setConn('connecting…', '');
  const send = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
  const subscribe = (after) => {
    state.subId++;
    send({
      id: String(state.subId), type: 'subscribe',
      payload: {
        query: `subscription($id: ID!, $env: String, $after: Int) { deploymentEvents(deploymentId: $id, environment: $env, afterSeq: $after) {
          events { operationId seq globalSeq stack kind time payload } overflow { resumeAfter } } }`,
        variables: { id: state.view.id, env: state.view.env, after },
      },
    });
  };
  ws.onopen = () => send({ type: 'connection_init', payload: initPayload() });
  ws.onmessage = (m) => {
    if (state.ws !== ws) return;
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    switch (msg.type) {
      case 'connection_ack':
        state.backoff = 500;
        state.refused = 0;
        setConn('live', 'ok');
        subscribe(state.lastSeq);
        break;
      case 'ping':
        send({ type: 'pong' });
        break;
      case 'next': {
        if (msg.id !== String(state.subId)) return;
        const d = msg.payload && msg.payload.data && msg.payload.data.deploymentEvents;
        if (msg.payload && msg.payload.errors) setConn('error: ' + msg.payload.errors.map((x) => x.message).join('; '), 'bad');
        if (!d) return;
        onEvents(d.events || []);
        if (d.overflow) {
          send({ id: String(state.subId), type: 'complete' });
          subscribe(Math.max(state.lastSeq, d.overflow.resumeAfter));
        }
        break;
      }
      case 'error':
        setConn('error: ' + (msg.payload || []).map((x) => x.message).join('; '), 'bad');
        break;
      case 'complete':
        if (msg.id === String(state.subId)) setTimeout(() => { if (state.ws === ws) subscribe(state.lastSeq); }, state.backoff);
        break;
    }
  };
  ws.onclose = (ev) => {
    if (state.ws !== ws || gen !== state.gen) return;
    state.ws = null;
    state.reconnects++;
    afterClose(ev, gen, () => connect(gen));
  };
}

window.addEventListener('hashchange', route);
start();
