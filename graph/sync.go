package graph

import (
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph/model"
)

// Conversions of the core's team-sync results to the API's types.

func toSyncStatus(st app.SyncStatus) *model.SyncStatus {
	out := &model.SyncStatus{Configured: st.Configured, Offline: st.Offline, Table: st.Table, Region: st.Region,
		Endpoint: st.Endpoint, IntervalSeconds: int(st.Interval / time.Second)}
	if l := st.Local; l != nil {
		out.Replica, out.Pending, out.Conflicts = l.Replica, l.Pending, l.Conflicts
		out.LastPush, out.LastPull, out.LastReconcile = l.LastPush, l.LastPull, l.LastReconcile
	}
	return out
}

func toSyncRun(r app.SyncRun) *model.SyncRun {
	return &model.SyncRun{Mode: model.SyncMode(r.Mode), Pushed: r.Pushed, Lost: r.Lost, Read: r.Read, Pulled: r.Pulled,
		Scanned: r.Scanned, Conflicts: r.Conflicts, Reconciled: r.Reconciled, Rounds: r.Rounds, Quiet: r.Quiet,
		OpenConflicts: r.OpenConflicts}
}

func toSyncConflict(c app.SyncConflict) *model.SyncConflict {
	v := func(v app.SyncVersion) *model.SyncVersion {
		return &model.SyncVersion{Hlc: v.HLC, Time: v.Time, Replica: v.Replica, Deleted: v.Deleted}
	}
	fields := make([]*model.SyncFieldDiff, 0, len(c.Fields))
	for _, f := range c.Fields {
		fields = append(fields, &model.SyncFieldDiff{Name: f.Name, Winner: f.Winner, Loser: f.Loser})
	}
	return &model.SyncConflict{ID: c.ID, Short: c.Short, Entity: c.Entity, Key: c.Key, Winner: v(c.Winner), Loser: v(c.Loser),
		Fields: fields, DetectedAt: c.DetectedAt, ResolvedAt: c.ResolvedAt, Resolution: c.Resolution}
}

func toTeamLease(l *app.TeamLease) *model.TeamLease {
	if l == nil {
		return nil
	}
	return &model.TeamLease{Holder: l.Holder, Info: l.Info, Token: int(l.Token), Acquired: l.Acquired, Expires: l.Expires,
		Expired: l.Expired(time.Now())}
}
