package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// keySize is the AES-256 key length in bytes.
const keySize = 32

// loadKey reads the secrets key file, creating it with a random key (mode
// 0600, written atomically) if it does not exist. The file holds the key in
// base64 on one line. Errors name the file, never the key.
func loadKey(path string) (cipher.AEAD, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: secrets key %s: %w", path, err)
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(key) != keySize {
		return nil, fmt.Errorf("store: secrets key %s: want %d bytes in base64", path, keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: secrets key %s: %w", path, err)
	}
	return cipher.NewGCM(block)
}

// createKey writes a new random key to path. It writes a temporary file,
// syncs it and links it into place, so a concurrent creator never sees a
// partial file and the first one to link wins.
func createKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, keySize)
	rand.Read(key)
	data := []byte(base64.StdEncoding.EncodeToString(key) + "\n")

	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path) // another process won the race
		}
		return nil, err
	}
	return data, nil
}

// seal encrypts plaintext bound to aad and returns base64(nonce || sealed).
func (db *DB) seal(plaintext, aad []byte) string {
	nonce := make([]byte, db.aead.NonceSize(), db.aead.NonceSize()+len(plaintext)+db.aead.Overhead())
	rand.Read(nonce)
	return base64.StdEncoding.EncodeToString(db.aead.Seal(nonce, nonce, plaintext, aad))
}

// open decrypts a value made by seal. It returns an error wrapping
// ErrSecretKey if the value does not authenticate under this key and aad.
func (db *DB) open(value string, aad []byte) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(raw) < db.aead.NonceSize()+db.aead.Overhead() {
		return nil, fmt.Errorf("%w: value is not a sealed secret (key file %s)", ErrSecretKey, db.keyFile)
	}
	n := db.aead.NonceSize()
	plain, err := db.aead.Open(nil, raw[:n], raw[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong key file %s, or the value is corrupt", ErrSecretKey, db.keyFile)
	}
	return plain, nil
}
