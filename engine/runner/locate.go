package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/stacks/project"
)

// Locator finds stack programs by name: first an executable of that name in
// one of Dirs (the stacks directories), then a program built into the cloud
// binary.
type Locator struct {
	Dirs []string
	// Self is the cloud executable, which runs its built-in programs as
	// `cloud stack-runner NAME describe|run`.
	Self string
	// Builtin lists the programs compiled into Self.
	Builtin []string
	// ServeProject, when set, runs project stacks in this process (see
	// Program.Serve) rather than as `Self project-runner DIR`.
	ServeProject func(ctx context.Context, dir string, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int

	mu     sync.Mutex
	hashes map[string]fileHash
}

type fileHash struct {
	size int64
	mod  time.Time
	sum  string
}

// Find returns the program called name, or an error naming where it looked.
func (l *Locator) Find(name string) (Program, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return l.FindPath(name)
	}
	for _, d := range l.Dirs {
		p := filepath.Join(d, name)
		if isExecutable(p) {
			id, err := l.identity(p)
			if err != nil {
				return Program{}, err
			}
			return Program{Name: name, Path: p, Identity: id}, nil
		}
	}
	for _, b := range l.Builtin {
		if b == name && l.Self != "" {
			id, err := l.identity(l.Self)
			if err != nil {
				return Program{}, err
			}
			return Program{Name: name, Path: l.Self, Args: []string{"stack-runner", name},
				Identity: id + ":" + name, Builtin: true}, nil
		}
	}
	return Program{}, fmt.Errorf("stack program %q not found in %s, not built in (built in: %s) and not registered: build it with `make stack STACK=%s`, or register a Pulumi project directory with `cloud register-stack DIR`",
		name, strings.Join(l.Dirs, ", "), strings.Join(l.Builtin, ", "), name)
}

// FindPath returns the program at an explicit path.
func (l *Locator) FindPath(path string) (Program, error) {
	if !isExecutable(path) {
		return Program{}, fmt.Errorf("stack program %q is not an executable file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Program{}, err
	}
	id, err := l.identity(abs)
	if err != nil {
		return Program{}, err
	}
	return Program{Name: filepath.Base(abs), Path: abs, Identity: id}, nil
}

// FindProject returns the project stack program of the Pulumi project in
// dir, which cloud runs itself (Self project-runner DIR). Its identity is a
// hash of the project's files (see project.Identity), so editing a source
// file changes it; each file's hash is cached like an executable's.
func (l *Locator) FindProject(dir string) (Program, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Program{}, err
	}
	if !project.IsProject(abs) {
		return Program{}, fmt.Errorf("%s holds no Pulumi project (no Pulumi.yaml or Pulumi.yml)", abs)
	}
	if l.Self == "" {
		return Program{}, fmt.Errorf("project %s: no cloud executable to run it with", abs)
	}
	id, err := project.Identity(abs, l.identity)
	if err != nil {
		return Program{}, err
	}
	p := Program{Name: filepath.Base(abs), Path: l.Self, Args: []string{"project-runner", abs},
		Identity: id, Project: abs}
	if serve := l.ServeProject; serve != nil {
		p.Serve = func(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
			return serve(ctx, abs, args, env, stdin, stdout, stderr)
		}
	}
	return p, nil
}

// identity hashes an executable's content, cached by size and modification
// time: hashing a 50 MB stack binary on every deploy would be wasted work.
func (l *Locator) identity(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.hashes[path]; ok && h.size == fi.Size() && h.mod.Equal(fi.ModTime()) {
		return h.sum, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	h := fileHash{size: fi.Size(), mod: fi.ModTime(), sum: "sha256:" + hex.EncodeToString(sum.Sum(nil))}
	if l.hashes == nil {
		l.hashes = map[string]fileHash{}
	}
	l.hashes[path] = h
	return h.sum, nil
}
