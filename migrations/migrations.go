// Package migrations holds the numbered SQL migrations of the cloud store.
//
// Each file is named NNNN_description.sql (four digits, an underscore, a
// lower-case description). The store applies them in order when it opens a
// database, each inside its own transaction, and records every applied
// version in the schema_migrations table. Files are never edited once
// released; a schema change is a new file with the next number.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
)

// FS holds the embedded migration files.
//
//go:embed *.sql
var FS embed.FS

// Migration is one numbered SQL migration.
type Migration struct {
	Version int    // the number in the file name, starting at 1
	Name    string // the file name, e.g. "0001_init.sql"
	SQL     string // the statements to run
}

var fileName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// All returns the embedded migrations ordered by version. It returns an error
// if a file name does not follow the NNNN_name.sql pattern, if two files
// share a version, or if the versions do not run 1, 2, 3, … without a gap.
func All() ([]Migration, error) {
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: read embedded files: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrations: file %q does not match NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations: expected version %d, found %s", i+1, m.Name)
		}
	}
	return out, nil
}

// Latest returns the highest version among the embedded migrations.
func Latest() int {
	all, err := All()
	if err != nil || len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Version
}
