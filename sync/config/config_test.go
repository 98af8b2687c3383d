package syncconfig_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	syncconfig "github.com/cloudplatform/cloud/sync/config"
)

func TestSaveLoad(t *testing.T) {
	for _, env := range []string{syncconfig.EnvTable, syncconfig.EnvRegion, syncconfig.EnvEndpoint, syncconfig.EnvProfile} {
		t.Setenv(env, "")
		os.Unsetenv(env)
	}
	home := t.TempDir()
	c, err := syncconfig.Load(home)
	if err != nil || c.Configured() {
		t.Fatalf("Load of an empty home = %+v, %v; want not configured", c, err)
	}
	if err := c.Validate(); !errors.Is(err, syncconfig.ErrNotConfigured) {
		t.Errorf("Validate = %v, want ErrNotConfigured", err)
	}
	want := syncconfig.Config{Table: "team-sync", Region: "eu-west-1", Endpoint: "http://127.0.0.1:8000",
		Profile: "ops", Interval: syncconfig.Duration(2 * time.Minute)}
	if err := syncconfig.Save(home, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(syncconfig.Path(home))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	b, _ := os.ReadFile(syncconfig.Path(home))
	if !strings.Contains(string(b), `"interval": "2m0s"`) {
		t.Errorf("file:\n%s\nwant the interval as text", b)
	}
	got, err := syncconfig.Load(home)
	if err != nil || got != want || !got.Configured() || got.SyncInterval() != 2*time.Minute {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	if r := got.Remote(); r.Table != want.Table || r.Region != want.Region || r.Endpoint != want.Endpoint || r.Profile != want.Profile {
		t.Errorf("Remote = %+v", r)
	}

	// The environment wins over the file, field by field.
	t.Setenv(syncconfig.EnvTable, "other-table")
	t.Setenv(syncconfig.EnvEndpoint, "")
	got, err = syncconfig.Load(home)
	if err != nil || got.Table != "other-table" || got.Endpoint != "" || got.Region != "eu-west-1" {
		t.Errorf("Load with environment = %+v, %v", got, err)
	}
	if f, err := syncconfig.LoadFile(home); err != nil || f != want {
		t.Errorf("LoadFile = %+v, %v; want the file alone", f, err)
	}

	// A damaged file is an error naming it.
	os.WriteFile(syncconfig.Path(home), []byte("{"), 0o600)
	if _, err := syncconfig.Load(home); err == nil || !strings.Contains(err.Error(), syncconfig.FileName) {
		t.Errorf("Load of a bad file = %v", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	ok := syncconfig.Config{Table: "cloud-platform", Region: "us-gov-west-1"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mutate func(*syncconfig.Config)
		want   string
	}{
		{func(c *syncconfig.Config) { c.Table = "ab" }, "3 to 255"},
		{func(c *syncconfig.Config) { c.Table = "bad name" }, `table "bad name"`},
		{func(c *syncconfig.Config) { c.Region = "Europe" }, `region "Europe"`},
		{func(c *syncconfig.Config) { c.Region = "eu-west" }, "eu-west-1"},
		{func(c *syncconfig.Config) { c.Endpoint = "127.0.0.1:8000" }, "endpoint"},
		{func(c *syncconfig.Config) { c.Endpoint = "http://x/path" }, "no path"},
		{func(c *syncconfig.Config) { c.Profile = "my profile" }, "profile"},
		{func(c *syncconfig.Config) { c.Interval = -1 }, "negative"},
	} {
		c := ok
		tc.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error mentioning %q", c, err, tc.want)
		}
		if err := syncconfig.Save(t.TempDir(), c); err == nil {
			t.Errorf("Save accepted %+v", c)
		}
	}
}
