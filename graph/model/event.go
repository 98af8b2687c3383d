package model

import "github.com/cloudplatform/cloud/store"

// EventFrom converts a stored event to the schema's Event: what the
// GraphQL API serves and what the monitor reads from the local store, so
// that a monitor needs this small package, not the GraphQL executor.
func EventFrom(e store.Event) *Event {
	ev := &Event{
		OperationID: e.OperationID, Seq: int(e.Seq), GlobalSeq: int(e.GlobalSeq), DeploymentID: e.DeploymentID,
		Environment: e.Environment, Stack: e.Stack, Kind: string(e.Kind), Time: e.Time,
	}
	if len(e.Payload) > 0 {
		// Stored JSON goes out as it is: decoding it for every subscriber
		// of every event would cost more than everything else together.
		ev.Payload = e.Payload
	}
	return ev
}
