package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestClientLimits_Sweep: buckets of clients gone quiet are forgotten, so
// a stream of new addresses does not grow the table without bound; a
// client still over its rate is remembered.
func TestClientLimits_Sweep(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := newClientLimits(Limits{RatePerSecond: 10, Burst: 20}.withDefaults(), prometheus.NewRegistry())
	l.now = func() time.Time { return now }
	for range 20 {
		l.allow("ip:192.0.2.1")
	}
	if _, ok := l.allow("ip:192.0.2.1"); ok {
		t.Fatal("a 21st request in a burst of 20 was allowed")
	}
	for i := range 1000 {
		l.allow(fmt.Sprintf("ip:10.0.%d.%d", i/256, i%256))
	}
	now = now.Add(time.Second) // the busy client's bucket refills half
	l.allow("ip:192.0.2.1")
	now = now.Add(l.idleFull() - time.Millisecond)
	l.allow("ip:192.0.2.1")
	now = now.Add(2 * time.Millisecond)
	l.allow("ip:198.51.100.1") // a new client sweeps
	if got, want := len(l.buckets), 2; got != want {
		t.Fatalf("%d buckets after the sweep, want %d (the recent client and the new one)", got, want)
	}
}

// TestClientLimits_Bound: a flood of addresses faster than buckets fill
// up again is capped at maxBuckets.
func TestClientLimits_Bound(t *testing.T) {
	l := newClientLimits(Limits{RatePerSecond: 0.001, Burst: 1}.withDefaults(), prometheus.NewRegistry())
	for i := range maxBuckets + 1000 {
		l.allow(fmt.Sprintf("ip:%d", i))
	}
	if got := len(l.buckets); got > maxBuckets {
		t.Fatalf("%d buckets, the bound is %d", got, maxBuckets)
	}
}

func TestClientLimits_Acquire(t *testing.T) {
	l := newClientLimits(Limits{}.withDefaults(), prometheus.NewRegistry())
	r1, ok1 := l.acquire(l.subs, "k", 2)
	_, ok2 := l.acquire(l.subs, "k", 2)
	if _, ok := l.acquire(l.subs, "k", 2); !ok1 || !ok2 || ok {
		t.Fatalf("acquire: %v %v %v, want two slots of two", ok1, ok2, ok)
	}
	r1()
	r1() // releasing twice frees one slot only
	if _, ok := l.acquire(l.subs, "k", 2); !ok {
		t.Fatal("a released slot was not free")
	}
	if _, ok := l.acquire(l.subs, "k", 2); ok {
		t.Fatal("a double release freed two slots")
	}
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		remote, xff string
		trust       bool
		want        string
	}{
		{"127.0.0.2:5000", "", false, "127.0.0.2"},
		{"127.0.0.2:5000", "198.51.100.7", false, "127.0.0.2"},
		{"127.0.0.2:5000", "198.51.100.7, 10.0.0.1", true, "198.51.100.7"},
		{"127.0.0.2:5000", "not an address", true, "127.0.0.2"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", false, "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.1]:443", "", false, "192.0.2.1"},
		{"10.0.0.1:1", "2001:db8::1", true, "2001:db8::/64"},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := clientIP(r, tt.trust); got != tt.want {
			t.Errorf("clientIP(%s, X-Forwarded-For %q, trust %v) = %q, want %q", tt.remote, tt.xff, tt.trust, got, tt.want)
		}
	}
}

// TestLimitBody_ReadDeadline: a client that stops sending its body is cut
// off after the body timeout; once a body has been read, the deadline is
// lifted, so a long request is not cancelled by it.
func TestLimitBody_ReadDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := &Server{limits: newClientLimits(Limits{}.withDefaults(), prometheus.NewRegistry())}
	s.limits.bodyTimeout = timeout
	hs := httptest.NewServer(s.limitRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusServiceUnavailable)
		case <-time.After(3 * timeout):
			io.WriteString(w, "ok")
		}
	})))
	defer hs.Close()

	resp, err := http.Post(hs.URL+"/api/v1/x", "text/plain", strings.NewReader("whole"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a request running past the body timeout after reading its body: %d %s", resp.StatusCode, b)
	}

	// The same stall on a server whose body timeout is an hour: still
	// open when the other is cut off, so it is the timeout that cuts.
	long := &Server{limits: newClientLimits(Limits{}.withDefaults(), prometheus.NewRegistry())}
	long.limits.bodyTimeout = time.Hour
	lhs := httptest.NewServer(long.limitRequests(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	})))
	defer lhs.Close()
	const head, part = "POST /api/v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n", "only some"
	// guard only catches a hang: a stalled body the server never cuts off.
	const guard = 30 * time.Second
	stall := func(addr string) net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		io.WriteString(conn, head+part)
		conn.SetReadDeadline(time.Now().Add(guard))
		return conn
	}
	lconn := stall(lhs.Listener.Addr().String())
	conn := stall(hs.Listener.Addr().String())
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, " 400 ") {
		t.Fatalf("a stalled body: %q, %v; want a 400 after the timeout", status, err)
	}
	io.WriteString(lconn, strings.Repeat("x", 100-len(part)))
	status, err = bufio.NewReader(lconn).ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("a body completed within an hour's timeout: %q, %v; want a 200", status, err)
	}
}
