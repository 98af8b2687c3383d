// Package syncconfig is the sync configuration of a cloud home: which
// DynamoDB table the team shares, in which region, reached how. It lives
// in <home>/sync.json (mode 0600: it names an AWS profile and endpoint,
// nothing secret, but it is the user's own), and environment variables
// override the file so CI and tests need not write one.
//
// The package is named syncconfig, not sync, so it does not shadow the
// standard library's sync.
package syncconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/cloudplatform/cloud/sync/remote"
)

// FileName is the configuration file's name in the home.
const FileName = "sync.json"

// Environment variables that override the file, field by field.
const (
	EnvTable    = "CLOUD_SYNC_TABLE"
	EnvRegion   = "CLOUD_SYNC_REGION"
	EnvEndpoint = "CLOUD_SYNC_ENDPOINT"
	EnvProfile  = "CLOUD_SYNC_PROFILE"
)

// DefaultInterval is how often the background sync runs when Interval is
// not set.
const DefaultInterval = 30 * time.Second

// Config is the sync configuration.
type Config struct {
	// Table is the DynamoDB table's name; empty means sync is not
	// configured.
	Table string `json:"table"`
	// Region is the table's AWS region.
	Region string `json:"region,omitempty"`
	// Endpoint overrides the DynamoDB URL (a local server for development).
	Endpoint string `json:"endpoint,omitempty"`
	// Profile is the AWS shared-config profile to use.
	Profile string `json:"profile,omitempty"`
	// Interval is how often the background sync runs (0: DefaultInterval).
	Interval Duration `json:"interval,omitempty"`
	// Offline pauses sync without forgetting the configuration.
	Offline bool `json:"offline,omitempty"`
}

// Duration is a time.Duration that reads and writes as text ("30s") in
// JSON, so the file is editable by hand.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "30s" or "2m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("interval: want a duration such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("interval: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Configured reports whether sync has a table to sync with.
func (c Config) Configured() bool { return c.Table != "" }

// SyncInterval returns Interval, or DefaultInterval when it is not set.
func (c Config) SyncInterval() time.Duration {
	if c.Interval <= 0 {
		return DefaultInterval
	}
	return time.Duration(c.Interval)
}

// Remote returns the table's connection settings for remote.Open.
func (c Config) Remote() remote.Config {
	return remote.Config{Table: c.Table, Region: c.Region, Endpoint: c.Endpoint, Profile: c.Profile}
}

var (
	tableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
	region    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	profile   = regexp.MustCompile(`^[^\s\[\]]+$`)
)

// ErrNotConfigured is Validate's error when no table is set.
var ErrNotConfigured = errors.New("sync is not configured: run cloud sync configure --table NAME --region REGION")

// Validate checks every field and returns an error naming the first bad
// one and what a good value looks like; ErrNotConfigured without a table.
func (c Config) Validate() error {
	if c.Table == "" {
		return ErrNotConfigured
	}
	if !tableName.MatchString(c.Table) {
		return fmt.Errorf("table %q: a DynamoDB table name is 3 to 255 letters, digits, '_', '-' or '.'", c.Table)
	}
	if c.Region != "" && !region.MatchString(c.Region) {
		return fmt.Errorf("region %q: want an AWS region such as eu-west-1", c.Region)
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("endpoint %q: want an http(s) URL with a host and no path, such as http://127.0.0.1:8000", c.Endpoint)
		}
	}
	if c.Profile != "" && !profile.MatchString(c.Profile) {
		return fmt.Errorf("profile %q: a profile name has no spaces or brackets", c.Profile)
	}
	if c.Interval < 0 {
		return fmt.Errorf("interval %s: must not be negative", time.Duration(c.Interval))
	}
	return nil
}

// Path returns the configuration file of home.
func Path(home string) string { return filepath.Join(home, FileName) }

// LoadFile reads <home>/sync.json alone, without the environment; a
// missing file is the zero Config (not configured), not an error.
func LoadFile(home string) (Config, error) {
	var c Config
	b, err := os.ReadFile(Path(home))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read sync configuration: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("read sync configuration %s: %w", Path(home), err)
	}
	return c, nil
}

// Load reads <home>/sync.json and applies the CLOUD_SYNC_* environment
// variables over it (a variable that is set, even empty, wins). It does
// not validate: callers that are about to use the configuration call
// Validate, so a bad file can still be shown and fixed.
func Load(home string) (Config, error) {
	c, err := LoadFile(home)
	if err != nil {
		return c, err
	}
	for env, field := range map[string]*string{
		EnvTable: &c.Table, EnvRegion: &c.Region, EnvEndpoint: &c.Endpoint, EnvProfile: &c.Profile,
	} {
		if v, ok := os.LookupEnv(env); ok {
			*field = v
		}
	}
	return c, nil
}

// Save validates c and writes it to <home>/sync.json atomically (a
// temporary file, synced, renamed) with mode 0600.
func Save(home string, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("save sync configuration: %w", err)
	}
	f, err := os.CreateTemp(home, FileName+".tmp*")
	if err != nil {
		return fmt.Errorf("save sync configuration: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("save sync configuration: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("save sync configuration: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save sync configuration: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save sync configuration: %w", err)
	}
	if err := os.Rename(f.Name(), Path(home)); err != nil {
		return fmt.Errorf("save sync configuration: %w", err)
	}
	return nil
}
