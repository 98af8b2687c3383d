package manifest

import (
	"crypto/rand"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var deploymentIDPattern = regexp.MustCompile(`^D[A-Z0-9]{6}$`)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// NewDeploymentID returns "D", the last 4 characters of now's Unix time in
// base 36 and 2 random characters drawn from r (crypto/rand when r is nil
// or fails), e.g. "D1BRV40".
func NewDeploymentID(now time.Time, r io.Reader) string {
	ts := strings.ToUpper(strconv.FormatInt(now.Unix(), 36))
	if len(ts) < 4 {
		ts = strings.Repeat("0", 4-len(ts)) + ts
	}
	if r == nil {
		r = rand.Reader
	}
	return "D" + ts[len(ts)-4:] + string(randomChar(r)) + string(randomChar(r))
}

// randomChar draws one character of idAlphabet without modulo bias.
func randomChar(r io.Reader) byte {
	var b [1]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			r = rand.Reader
			continue
		}
		// 252 is the largest multiple of 36 that fits a byte.
		if b[0] < 252 {
			return idAlphabet[b[0]%36]
		}
	}
}

// ValidDeploymentID reports whether s has the form of a deployment ID.
func ValidDeploymentID(s string) bool { return deploymentIDPattern.MatchString(s) }

// ProjectName returns the Pulumi project name of the deployment,
// "<deployment_id>-<organization>-<project>", with any character of the
// organization and project outside [A-Za-z0-9_] replaced by "_" (so that the
// "-" separators stay unambiguous).
func ProjectName(m *Manifest) string {
	return m.DeploymentID + "-" + sanitize(m.Organization) + "-" + sanitize(m.Project)
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
