package project

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// skippedDirs never change a program as cloud runs it: version control,
// installed dependencies, virtual environments, caches and build output
// (each is rebuilt from the sources that are hashed).
var skippedDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true,
	"node_modules": true, ".yarn": true, ".pnpm-store": true,
	"venv": true, ".venv": true, "__pycache__": true, ".pytest_cache": true, ".mypy_cache": true, ".tox": true,
	"bin": true, "obj": true, "target": true, ".gradle": true,
	".pulumi": true, ".idea": true, ".vscode": true,
}

// stackSettings matches Pulumi.<stack>.yaml: a stack's own config, which
// cloud never reads (the manifest gives the config).
var stackSettings = regexp.MustCompile(`^Pulumi\..+\.ya?ml$`)

// Skipped reports whether a path of the project (relative, slash
// separated) is left out of its identity. dir tells a directory.
func Skipped(rel string, dir bool) bool {
	base := rel
	if i := strings.LastIndex(rel, "/"); i >= 0 {
		base = rel[i+1:]
	}
	if dir {
		return skippedDirs[base]
	}
	return stackSettings.MatchString(base) || strings.HasSuffix(base, ".pyc") || base == ".DS_Store"
}

// Identity hashes the project's files (their relative paths and contents,
// what Skipped leaves out excepted): editing, adding, removing or renaming a
// source file changes it. hashFile returns a file's content hash; the
// caller may cache it.
func Identity(dir string, hashFile func(path string) (string, error)) (string, error) {
	sum := sha256.New()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if Skipped(rel, true) || isVirtualenv(path) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || Skipped(rel, false) {
			return nil
		}
		h, err := hashFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\x00%s\n", rel, h)
		n++
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash project %s: %w", dir, err)
	}
	return fmt.Sprintf("project:sha256:%s:%d", hex.EncodeToString(sum.Sum(nil)), n), nil
}

// isVirtualenv tells a Python virtual environment by its marker file,
// whatever the directory is called.
func isVirtualenv(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "pyvenv.cfg"))
	return err == nil
}
