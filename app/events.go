package app

import (
	"context"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/store/feed"
)

// Feed returns a hub that streams the store's events to subscribers (the
// server's subscriptions, the CLI's monitor). Close it before the App.
func (a *App) Feed(opts feed.Options) *feed.Hub { return feed.New(a.db, opts) }

// LastEventSeq is the position (GlobalSeq) of the newest stored event, 0
// when there is none: where a stream "from now" starts.
func (a *App) LastEventSeq(ctx context.Context) (int64, error) { return a.db.LastGlobalSeq(ctx) }

// EventsAfter reads the stored events f selects after position after, at
// most limit (see store.DB.EventsAfter).
func (a *App) EventsAfter(ctx context.Context, f store.EventFilter, after int64, limit int) ([]store.Event, error) {
	return a.db.EventsAfter(ctx, f, after, limit)
}
