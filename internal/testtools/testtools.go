// Package testtools finds, starts and stops the development servers the
// project's scripts install under .tools (dynalite, cognito-local), on free
// loopback ports, for the packages that run them in tests
// (sync/dynamotest, auth/cognitolocal).
package testtools

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Path returns the executable name: $envVar when set, else
// .tools/bin/<name> in the repository that holds the working directory
// (found by walking up to the directory with go.mod). When it is missing
// the error says so and how to install it (install, e.g.
// "tools/install/dynamodb-local.sh (make dynamodb)").
func Path(envVar, name, install string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s not installed: %s=%s: %v", name, envVar, p, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".tools", "bin", name)
			if _, err := os.Stat(p); err != nil {
				break
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("%s not installed: run %s", name, install)
}

// FreePort returns a loopback TCP port nobody listens on right now. Another
// process may take it before the caller binds it: callers retry.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
