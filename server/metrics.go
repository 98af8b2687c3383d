package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/server/rest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, on a registry of their own
// (several servers in one test process must not collide).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloud_http_requests_total", Help: "HTTP requests by route, method and status code.",
	}, []string{"route", "method", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "cloud_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cloud_subscribers", Help: "Event subscriptions open now.",
		}, func() float64 { return float64(s.hub.Stats().Subscribers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cloud_events_delivered_total", Help: "Events sent to subscribers (rate() gives events/s).",
		}, func() float64 { return float64(s.hub.Stats().Delivered) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cloud_subscriber_overflows_total", Help: "Subscribers cut off for falling behind.",
		}, func() float64 { return float64(s.hub.Stats().Overflows) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cloud_events_stored", Help: "The store's newest event position (rate() gives events/s recorded).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, _ := s.cfg.App.LastEventSeq(ctx)
			return float64(n)
		}),
		&operationsCollector{s: s, desc: prometheus.NewDesc("cloud_operations",
			"Operations recorded in the store, by kind and status.", []string{"kind", "status"}, nil)},
	)
	if st := s.cfg.Sync; st != nil {
		unix := func(t time.Time) float64 {
			if t.IsZero() {
				return 0
			}
			return float64(t.UnixNano()) / 1e9
		}
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "cloud_sync_pending_changes", Help: "Local changes waiting to be pushed to the team's table.",
			}, func() float64 { return float64(st.PendingOutbox()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "cloud_sync_last_push_timestamp_seconds", Help: "When a push last succeeded (Unix time; 0: never).",
			}, func() float64 { return unix(st.LastPush()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "cloud_sync_last_pull_timestamp_seconds", Help: "When a pull last succeeded (Unix time; 0: never).",
			}, func() float64 { return unix(st.LastPull()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "cloud_sync_open_conflicts", Help: "Concurrent edits kept as conflicts, not yet resolved.",
			}, func() float64 { return float64(st.OpenConflicts()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "cloud_sync_healthy", Help: "1 when the last sync round succeeded, 0 after a failure.",
			}, func() float64 {
				if st.Ready() {
					return 1
				}
				return 0
			}),
		)
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// instrument counts and times every request by route: the REST pattern
// rather than the path, so IDs do not explode the label set.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		// REST writes the pattern it matched here.
		r = r.WithContext(context.WithValue(r.Context(), rest.RouteKey{}, new(string)))
		next.ServeHTTP(rec, r)
		route := routeOf(r)
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
		if r.Header.Get("Upgrade") == "" { // a WebSocket lives as long as its subscriptions
			m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}
	})
}

// routeOf names a request's route for metrics: the pattern REST matched
// (it records it in the request's context), else the fixed paths.
func routeOf(r *http.Request) string {
	if p, ok := r.Context().Value(rest.RouteKey{}).(*string); ok && *p != "" {
		return *p
	}
	switch p := r.URL.Path; {
	case p == "/graphql", p == "/graphql/playground", p == "/healthz", p == "/readyz", p == "/metrics", p == "/":
		return p
	case strings.HasPrefix(p, "/api/v1/"):
		return "/api/v1/other"
	}
	return "other"
}

// operationsCollector reads operation counts from the store at scrape
// time: operations started by other processes (the CLI) count too.
type operationsCollector struct {
	s    *Server
	desc *prometheus.Desc
}

func (c *operationsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *operationsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.s.cfg.App.OperationCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
