// Package faultproxy is an HTTP proxy for tests that sits between a
// DynamoDB client and dynalite and injects the failures of a real network
// and a real service: delays, dropped connections, 500s and throttling.
//
// It speaks just enough HTTP/1.1 for DynamoDB's JSON protocol: it reads
// one request at a time from each keep-alive connection and, per request,
// decides with a seeded math/rand what to do, so a single-threaded client
// sees the same faults on every run. A dropped request is either dropped
// before it is forwarded (the server never saw it) or after (the server
// applied it, the client never heard): both happen in reality, and the
// second is what makes idempotent retries necessary.
package faultproxy

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Faults are the probabilities (0 to 1) of each fault per request. They
// are decided in this order, so their sum should stay below 1; what is
// left is forwarded untouched.
type Faults struct {
	// DropRate: close the client's connection without answering — half of
	// the time before forwarding the request, half after (the server
	// applied it).
	DropRate float64
	// DelayRate: wait Delay, then forward.
	DelayRate float64
	Delay     time.Duration
	// Error500Rate: answer 500 InternalServerError without forwarding.
	Error500Rate float64
	// ThrottleRate: answer 400 ThrottlingException without forwarding.
	ThrottleRate float64
}

// Counts are how many requests met each fate.
type Counts struct {
	Requests     int64 // requests read
	Forwarded    int64 // answered by the server (delayed ones included)
	DroppedEarly int64 // connection closed before forwarding
	DroppedLate  int64 // forwarded, then the connection closed unanswered
	Delayed      int64
	Errors500    int64
	Throttled    int64
}

// Faulted is the number of requests that did not get the server's answer.
func (c Counts) Faulted() int64 { return c.DroppedEarly + c.DroppedLate + c.Errors500 + c.Throttled }

// Proxy is a running fault-injecting proxy. Its methods are safe for
// concurrent use.
type Proxy struct {
	// URL is the proxy's base URL, http://127.0.0.1:PORT: the client's
	// endpoint.
	URL string

	target string
	ln     net.Listener
	client *http.Transport

	mu     sync.Mutex // guards faults and rnd
	faults Faults
	rnd    *rand.Rand

	requests, forwarded, droppedEarly, droppedLate, delayed, errors500, throttled atomic.Int64

	wg    sync.WaitGroup
	connm sync.Mutex // guards conns
	conns map[net.Conn]bool
}

// Seed is the random seed of every proxy: runs are reproducible.
const Seed = 20261126

// Start runs a proxy on a free loopback port in front of target (a base
// URL such as dynamotest.Server.Endpoint) and stops it when the test ends.
func Start(t testing.TB, target string, f Faults) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{
		URL:    "http://" + ln.Addr().String(),
		target: target,
		ln:     ln,
		client: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second},
		faults: f,
		rnd:    rand.New(rand.NewSource(Seed)),
		conns:  map[net.Conn]bool{},
	}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.Close)
	return p
}

// SetFaults changes the faults of the requests to come.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

// Counts returns the counters so far.
func (p *Proxy) Counts() Counts {
	return Counts{
		Requests: p.requests.Load(), Forwarded: p.forwarded.Load(),
		DroppedEarly: p.droppedEarly.Load(), DroppedLate: p.droppedLate.Load(),
		Delayed: p.delayed.Load(), Errors500: p.errors500.Load(), Throttled: p.throttled.Load(),
	}
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.connm.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.connm.Unlock()
	p.wg.Wait()
	p.client.CloseIdleConnections()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.connm.Lock()
		p.conns[c] = true
		p.connm.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
			c.Close()
			p.connm.Lock()
			delete(p.conns, c)
			p.connm.Unlock()
		}()
	}
}

type fate int

const (
	forward fate = iota
	dropEarly
	dropLate
	delay
	error500
	throttle
)

// decide draws a request's fate.
func (p *Proxy) decide() (fate, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.faults
	x := p.rnd.Float64()
	switch {
	case x < f.DropRate:
		if p.rnd.Intn(2) == 0 {
			return dropEarly, 0
		}
		return dropLate, 0
	case x < f.DropRate+f.DelayRate:
		return delay, f.Delay
	case x < f.DropRate+f.DelayRate+f.Error500Rate:
		return error500, 0
	case x < f.DropRate+f.DelayRate+f.Error500Rate+f.ThrottleRate:
		return throttle, 0
	}
	return forward, 0
}

// handle serves one client connection, request after request, until the
// client closes it or a fault drops it.
func (p *Proxy) handle(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return
		}
		p.requests.Add(1)
		fate, d := p.decide()
		switch fate {
		case dropEarly:
			p.droppedEarly.Add(1)
			return
		case error500:
			p.errors500.Add(1)
			if writeJSON(c, 500, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected fault"}`) != nil {
				return
			}
			continue
		case throttle:
			p.throttled.Add(1)
			if writeJSON(c, 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}`) != nil {
				return
			}
			continue
		case delay:
			p.delayed.Add(1)
			time.Sleep(d)
		}
		resp, err := p.roundTrip(req, body)
		if err != nil {
			return // the server is gone: so is the client's connection
		}
		if fate == dropLate {
			resp.Body.Close()
			p.droppedLate.Add(1)
			return
		}
		p.forwarded.Add(1)
		err = resp.Write(c)
		resp.Body.Close()
		if err != nil || req.Close {
			return
		}
	}
}

func (p *Proxy) roundTrip(in *http.Request, body []byte) (*http.Response, error) {
	out, err := http.NewRequest(in.Method, p.target+in.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out.Header = in.Header.Clone()
	out.Host = in.Host // signed by the client
	resp, err := p.client.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	// Read it whole so the answer can be written with a length.
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.TransferEncoding = nil
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return resp, nil
}

// writeJSON answers as DynamoDB does, with the body's CRC32 in
// x-amz-crc32 (the SDK checks it).
func writeJSON(w io.Writer, status int, body string) error {
	_, err := fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: %d\r\nX-Amz-Crc32: %d\r\n\r\n%s",
		status, http.StatusText(status), len(body), crc32.ChecksumIEEE([]byte(body)), body)
	return err
}
