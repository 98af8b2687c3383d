package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/server/rest"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Limits bound what one client can make the server do. A client is the
// authenticated caller (its Cognito subject) when there is one, else the
// remote IP address. Zero values take the defaults; a negative
// RatePerSecond, MaxWebSockets, MaxSubscriptions, MaxQueryDepth or
// MaxComplexity turns that limit off (benchmarks, a trusted proxy that
// limits itself).
type Limits struct {
	// MaxBodyBytes caps a request body (default 1 MiB); a larger body is
	// refused with 413. REST reads at most rest.MaxBodyBytes whatever this
	// says, so raising it only helps GraphQL.
	MaxBodyBytes int64
	// RatePerSecond refills each client's token bucket (default 20).
	RatePerSecond float64
	// Burst is the size of each client's bucket (default 40).
	Burst int
	// MaxWebSockets bounds a client's open WebSocket connections (default
	// 16); the upgrade beyond is refused with 429.
	MaxWebSockets int
	// MaxSubscriptions bounds a client's running subscriptions across all
	// its connections (default 32); the one beyond gets a GraphQL error
	// and the connection stays usable.
	MaxSubscriptions int
	// MaxQueryDepth bounds the nesting of a GraphQL operation's selection
	// sets, fragments expanded (default 12).
	MaxQueryDepth int
	// MaxComplexity bounds an operation's complexity as gqlgen computes it
	// (default 500).
	MaxComplexity int
	// MaxQueryTokens, MaxSelections and MaxAliases bound a GraphQL
	// document before gqlgen parses and validates it, so that refusing
	// any document costs a lexer pass (validation grows with the square
	// of repeated fields, complexity with the expansion of fragments):
	// its tokens (default 10000); its selections — fields, fragment
	// spreads and inline fragments, in the text and with fragments
	// expanded per operation (default 500, the default complexity;
	// GraphiQL's introspection query has 191); its aliases (default 100).
	// A negative value turns that bound off.
	MaxQueryTokens int
	MaxSelections  int
	MaxAliases     int
	// CORSOrigins are the browser origins (scheme://host[:port], or "*")
	// allowed to call /graphql and /api/v1 from other sites. Empty (the
	// default): no CORS headers at all, so only the dashboard's own origin
	// can use the API from a browser.
	CORSOrigins []string
	// TrustProxy takes the client IP from the left-most X-Forwarded-For
	// address. Only set it behind a proxy that sets that header: anyone
	// can send it, and would then choose their own rate limit key.
	TrustProxy bool
}

// The defaults of Limits.
const (
	DefaultMaxBodyBytes     = 1 << 20
	DefaultRatePerSecond    = 20
	DefaultBurst            = 40
	DefaultMaxWebSockets    = 16
	DefaultMaxSubscriptions = 32
	DefaultMaxQueryDepth    = 12
	DefaultMaxComplexity    = 500
	DefaultMaxQueryTokens   = 10000
	DefaultMaxSelections    = 500
	DefaultMaxAliases       = 100
)

// Codes of the errors the limits answer with (in problem documents and
// GraphQL error extensions). Like graph's codes, they never change
// meaning.
const (
	CodeRateLimited          = rest.CodeRateLimited       // 429: the client's request rate is over its limit
	CodeTooManyWebSockets    = rest.CodeTooManyWebSockets // 429: the client has MaxWebSockets open
	CodeTooManySubscriptions = "TOO_MANY_SUBSCRIPTIONS"   // the client has MaxSubscriptions running
	CodeQueryTooDeep         = "QUERY_TOO_DEEP"           // the operation nests deeper than MaxQueryDepth
	CodeQueryTooLarge        = "QUERY_TOO_LARGE"          // the document has more than MaxQueryTokens, MaxSelections or MaxAliases
)

// bodyReadTimeout bounds reading a request body: a client trickling its
// body would otherwise hold a connection and a goroutine for as long as
// it likes (WriteTimeout cannot help: subscriptions live for hours).
const bodyReadTimeout = 30 * time.Second

// wsRetryAfter is what a refused WebSocket upgrade is told to wait: a slot
// frees only when one of the client's connections closes, which no
// bucket predicts.
const wsRetryAfter = 5 * time.Second

// maxBuckets bounds the rate limiter's table. Buckets idle long enough to
// be full again are dropped without loss; beyond this many live ones
// (a flood from many addresses) arbitrary ones are dropped, which only
// forgives those clients some tokens.
const maxBuckets = 1 << 16

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.RatePerSecond == 0 {
		l.RatePerSecond = DefaultRatePerSecond
	}
	if l.Burst <= 0 {
		l.Burst = DefaultBurst
	}
	if l.MaxWebSockets == 0 {
		l.MaxWebSockets = DefaultMaxWebSockets
	}
	if l.MaxSubscriptions == 0 {
		l.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if l.MaxQueryDepth == 0 {
		l.MaxQueryDepth = DefaultMaxQueryDepth
	}
	if l.MaxComplexity == 0 {
		l.MaxComplexity = DefaultMaxComplexity
	}
	if l.MaxQueryTokens == 0 {
		l.MaxQueryTokens = DefaultMaxQueryTokens
	}
	if l.MaxSelections == 0 {
		l.MaxSelections = DefaultMaxSelections
	}
	if l.MaxAliases == 0 {
		l.MaxAliases = DefaultMaxAliases
	}
	return l
}

// clientIPKey carries the client's IP address in a request's context, so
// that GraphQL operations (which only see the context) find their client;
// the WebSocket transport runs operations in the upgrade request's
// context.
type clientIPKey struct{}

// clientIP is the address a request came from: the host of RemoteAddr,
// or with trustProxy the left-most X-Forwarded-For entry (the original
// client as the first proxy saw it). An IPv6 address stands for its /64:
// one host usually holds a whole /64 and could take a new address, and
// so a fresh bucket, for every request.
func clientIP(r *http.Request, trustProxy bool) string {
	var ip net.IP
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			ip = net.ParseIP(strings.TrimSpace(first))
		}
	}
	if ip == nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ip = net.ParseIP(host); ip == nil {
			return host
		}
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.To4().String()
}

// clientKey names the client of a request or operation: the caller when
// authenticated (one user behind many addresses is one client, many users
// behind one NAT are many), else the IP address.
func clientKey(ctx context.Context) string {
	if c := app.CallerFrom(ctx); c != nil && c.Subject != "" {
		return "user:" + c.Subject
	}
	if ip, ok := ctx.Value(clientIPKey{}).(string); ok {
		return "ip:" + ip
	}
	return "ip:unknown"
}

// clientLimits holds the per-client state of the limits: token buckets,
// open WebSockets, running subscriptions.
type clientLimits struct {
	cfg         Limits
	now         func() time.Time
	bodyTimeout time.Duration // bodyReadTimeout but in tests

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
	sockets   map[string]int
	subs      map[string]int

	rateLimited prometheus.Counter
	wsRefused   *prometheus.CounterVec
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newClientLimits(cfg Limits, reg prometheus.Registerer) *clientLimits {
	l := &clientLimits{cfg: cfg, now: time.Now, bodyTimeout: bodyReadTimeout,
		buckets: map[string]*bucket{}, sockets: map[string]int{}, subs: map[string]int{}}
	l.rateLimited = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cloud_http_rate_limited_total", Help: "Requests refused with 429 because their client was over its rate.",
	})
	l.wsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloud_ws_refused_total",
		Help: "WebSocket upgrades and subscriptions refused, by reason (rate, connections, subscriptions).",
	}, []string{"reason"})
	for _, r := range []string{"rate", "connections", "subscriptions"} {
		l.wsRefused.WithLabelValues(r) // present at 0 before the first refusal
	}
	reg.MustRegister(l.rateLimited, l.wsRefused)
	return l
}

// idleFull is how long a bucket must go unused to be full again: from
// then on forgetting it loses nothing.
func (l *clientLimits) idleFull() time.Duration {
	return max(time.Duration(float64(l.cfg.Burst)/l.cfg.RatePerSecond*float64(time.Second)), time.Second)
}

// allow takes a token from key's bucket; when there is none it says how
// long until there is.
func (l *clientLimits) allow(key string) (time.Duration, bool) {
	if l.cfg.RatePerSecond < 0 {
		return 0, true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		l.sweep(now)
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.RatePerSecond), l.cfg.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Second, false
	}
	if d := res.DelayFrom(now); d > 0 {
		// Refused requests must not consume tokens: a client hammering
		// through its 429s would otherwise never get back in.
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep drops buckets that are full again, at most once per idleFull, or
// at once when the table is at its bound. l.mu is held.
func (l *clientLimits) sweep(now time.Time) {
	idle := l.idleFull()
	if len(l.buckets) < maxBuckets && now.Sub(l.lastSweep) < idle {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= idle {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets { // map order is random enough for a flood
		if len(l.buckets) < maxBuckets*9/10 {
			break
		}
		delete(l.buckets, k)
	}
}

// acquire takes one of max slots of key in counts; release gives it back
// (once, however often it is called).
func (l *clientLimits) acquire(counts map[string]int, key string, limit int) (release func(), ok bool) {
	if limit < 0 {
		return func() {}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if counts[key] >= limit {
		return nil, false
	}
	counts[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if counts[key]--; counts[key] <= 0 {
				delete(counts, key)
			}
		})
	}, true
}

// exempt are the paths no limit applies to: probes and scrapes must work
// when a client floods the server, and the dashboard's own files are
// static (its API calls count).
func exempt(path string) bool {
	switch {
	case path == "/healthz", path == "/readyz", path == "/metrics", path == "/", path == "/index.html",
		strings.HasPrefix(path, "/assets/"):
		return true
	}
	return false
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// limitRequests applies the per-request limits: the client's rate, its
// number of WebSockets, the size of and the time to read a body. It also
// records the client's IP in the context for the GraphQL limits.
func (s *Server) limitRequests(next http.Handler) http.Handler {
	l := s.limits
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), clientIPKey{}, clientIP(r, l.cfg.TrustProxy)))
		if exempt(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		key := clientKey(r.Context())
		ws := isWebSocket(r)
		if wait, ok := l.allow(key); !ok {
			l.rateLimited.Inc()
			if ws {
				l.wsRefused.WithLabelValues("rate").Inc()
			}
			refuse(w, r, http.StatusTooManyRequests, CodeRateLimited, wait,
				fmt.Sprintf("too many requests: the limit is %g per second with bursts of %d; retry after the time in Retry-After",
					l.cfg.RatePerSecond, l.cfg.Burst))
			return
		}
		if ws {
			release, ok := l.acquire(l.sockets, key, l.cfg.MaxWebSockets)
			if !ok {
				l.wsRefused.WithLabelValues("connections").Inc()
				refuse(w, r, http.StatusTooManyRequests, CodeTooManyWebSockets, wsRetryAfter,
					fmt.Sprintf("too many WebSocket connections (limit %d): close one, or carry several subscriptions on one", l.cfg.MaxWebSockets))
				return
			}
			// The transport serves the connection for its whole life in
			// this call; no body limit or read deadline applies to it.
			defer release()
			next.ServeHTTP(w, r)
			return
		}
		if !s.limitBody(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody caps the request's body and bounds the time to read it; it
// answers 413 itself and returns false when the body is too large to
// start with, or (for GraphQL, whose transport would answer 400) when
// reading it shows it is.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) bool {
	limit := s.limits.cfg.MaxBodyBytes
	tooLarge := fmt.Sprintf("the request body exceeds %d bytes", limit)
	if r.ContentLength > limit {
		refuse(w, r, http.StatusRequestEntityTooLarge, rest.CodePayloadTooLarge, 0, tooLarge)
		return false
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		// No deadline without a body: net/http already watches the idle
		// connection for the client going away, and a deadline would cut
		// that watch (and so cancel a long request's context).
		return true
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.limits.bodyTimeout)) // not every ResponseWriter supports it (tests)
	r.Body = &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), rc: rc}
	if r.URL.Path != "/graphql" {
		return true
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		refuse(w, r, http.StatusRequestEntityTooLarge, rest.CodePayloadTooLarge, 0, tooLarge)
		return false
	}
	if err != nil {
		refuse(w, r, http.StatusBadRequest, "BAD_REQUEST", 0, "the request body could not be read: "+err.Error())
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return true
}

// deadlineBody lifts the read deadline once the body has been read
// whole: net/http then watches the connection in the background for the
// client going away, and that watch must not time out while a long
// request runs. A body not read to its end keeps the deadline: net/http
// reads (discards) the rest after the handler, and a stalled client must
// not hold it there.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done.Do(func() { _ = b.rc.SetReadDeadline(time.Time{}) })
	}
	return n, err
}

// refuse answers a request a limit refused, in the format of the door it
// knocked on: a GraphQL error response for /graphql, a problem document
// for everything else. retry, if positive, becomes Retry-After in whole
// seconds (at least 1: "0" would invite an immediate retry).
func refuse(w http.ResponseWriter, r *http.Request, status int, code string, retry time.Duration, detail string) {
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(retry.Seconds())))))
	}
	if status == http.StatusRequestEntityTooLarge {
		// The rest of the body is not read: the connection cannot carry
		// another request.
		w.Header().Set("Connection", "close")
	}
	var body any
	ct := "application/json"
	if r.URL.Path == "/graphql" {
		body = map[string]any{"data": nil, "errors": []map[string]any{{
			"message": detail, "extensions": map[string]any{"code": code}}}}
	} else {
		ct = rest.ProblemContentType
		title, field := http.StatusText(status), ""
		if status == http.StatusRequestEntityTooLarge {
			title, field = "Request body too large", "body"
		}
		body = rest.Problem{Type: "urn:cloud:problem:" + strings.ToLower(strings.ReplaceAll(code, "_", "-")),
			Title: title, Status: status, Detail: detail, Code: code, Field: field, Instance: r.URL.Path}
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// secureHeaders sets the headers every response carries, answers CORS
// for the API doors, and frames nothing. It runs outside authentication
// and the limits, so that their refusals carry the headers too (a
// browser reads a 429 of another origin only with CORS headers).
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	origins := map[string]bool{}
	for _, o := range s.cfg.Limits.CORSOrigins {
		origins[strings.TrimSuffix(o, "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == "/graphql/playground" {
			// GraphiQL comes from a CDN with inline bootstrap code that
			// changes with gqlgen's version; a CSP listing its sources
			// would break it silently on an upgrade. Only framing is
			// forbidden (clickjacking).
			h.Set("Content-Security-Policy", "frame-ancestors 'none'")
			h.Set("X-Frame-Options", "DENY")
		}
		if len(origins) > 0 && (r.URL.Path == "/graphql" || strings.HasPrefix(r.URL.Path, rest.Prefix+"/")) {
			if cors(w, r, origins) {
				return // a preflight, answered
			}
		}
		next.ServeHTTP(w, r)
	})
}

// cors adds the CORS headers for an allowed origin and reports whether
// the request was a preflight it answered. Requests from other origins
// get no CORS headers, which is the browser's signal to refuse.
func cors(w http.ResponseWriter, r *http.Request, allowed map[string]bool) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !allowed[origin] && !allowed["*"] {
		return false
	}
	if allowed[origin] {
		h.Set("Access-Control-Allow-Origin", origin)
	} else {
		h.Set("Access-Control-Allow-Origin", "*")
	}
	// Clients read these; the rest of the safelisted ones need no word.
	h.Set("Access-Control-Expose-Headers", "Location, Retry-After")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
