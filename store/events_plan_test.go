package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestEventsAfter_Plan checks that EventsAfter reads through an index in
// stream order: no table scan, no sort.
func TestEventsAfter_Plan(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "cloud.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stacks, kinds := []string{"network", "database"}, []string{"engine"}
	tests := []struct {
		f     EventFilter
		index string
	}{
		{EventFilter{OperationID: "op"}, "sqlite_autoindex_events_1"},
		{EventFilter{OperationID: "op", DeploymentID: "D", Environment: "dev", Stacks: stacks, Kinds: kinds}, "sqlite_autoindex_events_1"},
		{EventFilter{DeploymentID: "D"}, "events_by_deployment_gseq"},
		{EventFilter{DeploymentID: "D", Environment: "dev"}, "events_by_deployment_gseq"},
		{EventFilter{DeploymentID: "D", Environment: "dev", Stacks: stacks, Kinds: kinds}, "events_by_deployment_gseq"},
	}
	type plan struct {
		name, query, index string
		args               []any
	}
	var plans []plan
	for _, tt := range tests {
		query, args, err := eventsAfterQuery(tt.f, 10, 100)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, plan{fmt.Sprintf("%+v", tt.f), query, tt.index, args})
	}
	plans = append(plans, plan{"AllEventsAfter", allEventsAfterQuery, "events_by_gseq", []any{10, 100}})
	for _, tt := range plans {
		query, args := tt.query, tt.args
		rows, err := db.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT "+eventCols+" FROM events "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			steps = append(steps, detail)
		}
		rows.Close()
		got := strings.Join(steps, "; ")
		if !strings.Contains(got, "SEARCH events USING INDEX "+tt.index) || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("%s: plan %q, want a search of %s without a sort", tt.name, got, tt.index)
		}
	}
	if n, err := db.LastGlobalSeq(ctx); err != nil || n != 0 {
		t.Errorf("LastGlobalSeq = %d, %v", n, err)
	}
}
