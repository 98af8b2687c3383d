package document

import (
	"context"

	"github.com/cloudplatform/cloud/graph/model"
)

// Manifest is a revision of deployment id's manifest (GET …/manifest): the
// one in force, or revision rev.
func (d *Reader) Manifest(ctx context.Context, id string, rev *int) (*model.ManifestRevision, error) {
	dep, err := d.deployment(ctx, id)
	if err != nil {
		return nil, err
	}
	return d.res.Deployment().Manifest(ctx, dep, rev)
}

// ManifestChange is what a change of deployment id's manifest answers (PUT
// …/manifest, POST …/config, DELETE …/config/{key}): the deployment as it
// now is, the revision in force, and whether the change made it.
func (d *Reader) ManifestChange(ctx context.Context, id string, rev int, changed bool) (*model.ManifestChange, error) {
	dep, err := d.Deployment(ctx, id)
	if err != nil {
		return nil, err
	}
	return &model.ManifestChange{Deployment: dep, Revision: rev, Changed: changed}, nil
}
