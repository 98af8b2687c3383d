package migrations_test

import (
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/migrations"
)

func TestAll(t *testing.T) {
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range all {
		if got, want := m.Version, i+1; got != want {
			t.Errorf("migration %d: version = %d, want %d", i, got, want)
		}
		if strings.TrimSpace(m.SQL) == "" {
			t.Errorf("%s is empty", m.Name)
		}
	}
	if got, want := migrations.Latest(), all[len(all)-1].Version; got != want {
		t.Errorf("Latest() = %d, want %d", got, want)
	}
}
