package app

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// event records an operation-level or stack-level event.
func (r *run) event(bg context.Context, stack string, kind vocab.EventType, payload any) {
	r.eventAt(bg, stack, kind, r.app.cfg.Now().UTC(), payload)
}

func (r *run) eventAt(bg context.Context, stack string, kind vocab.EventType, at time.Time, payload any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.newEvent(stack, kind, at, payload)
	if err := r.app.db.AppendEvent(bg, ev); err != nil {
		r.logStoreError(err)
		return
	}
	r.notify(ev)
}

func (r *run) newEvent(stack string, kind vocab.EventType, at time.Time, payload any) *store.Event {
	body, err := json.Marshal(payload)
	if err != nil {
		body = []byte(strconv.Quote(err.Error()))
	}
	return &store.Event{OperationID: r.op.ID, DeploymentID: r.dep.ID, Environment: r.env.Name,
		Stack: stack, Kind: kind, Time: at, Payload: body}
}

// replay hands the observer the events the store wrote on its own (the
// operation's first and last status) after seq.
func (r *run) replay(bg context.Context, after int64) {
	evs, err := r.app.db.Events(bg, r.op.ID, after, 100)
	if err != nil {
		r.logStoreError(err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range evs {
		r.notify(&evs[i])
	}
}

func (r *run) notify(ev *store.Event) {
	if r.req.Observer != nil {
		r.req.Observer(*ev)
	}
}

// logStoreError reports a failed write of an event: the run goes on (the
// stacks are real infrastructure), but the user must know the record has a
// hole.
func (r *run) logStoreError(err error) {
	r.app.log().Error("could not record an event", "operation", r.op.ID, "error", err)
}

// report builds the report in graph order.
func (r *run) report() *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{Operation: r.op, Layers: r.graph.Layers()}
	for _, n := range r.graph.Order() {
		rep.Stacks = append(rep.Stacks, *r.result(n))
	}
	return rep
}
