package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// sealedFormat names the encryption of a sealed file.
const sealedFormat = "aes-256-gcm/v1"

// sealed is what the keyring backend writes for a bundle: the bundle's JSON
// encrypted with AES-256-GCM under a random key that the OS keyring keeps.
// Profile and Fingerprint are in the clear, to find the key by, and are
// authenticated as additional data, so that a file copied over another
// profile's (or edited to claim another profile) fails to decrypt.
type sealed struct {
	Format      string `json:"format"`
	Profile     string `json:"profile"`
	Fingerprint string `json:"fingerprint"`
	Nonce       []byte `json:"nonce"`      // base64 in JSON
	Ciphertext  []byte `json:"ciphertext"` // base64 in JSON; includes the GCM tag
}

// keySize is the length of a bundle key: AES-256.
const keySize = 32

// newKey returns a random bundle key in the text form the keyring keeps.
func newKey() string {
	key := make([]byte, keySize)
	rand.Read(key) // never fails
	return base64.StdEncoding.EncodeToString(key)
}

// parseKey decodes a bundle key read from the keyring. Its errors never
// contain the key.
func parseKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) != keySize {
		return nil, errors.New("the keyring item is not a 256-bit key in base64")
	}
	return key, nil
}

// additionalData binds a sealed bundle to its profile and fingerprint.
func additionalData(k Key) []byte {
	return []byte("idplug bundle " + sealedFormat + "\n" + strconv.Quote(k.Profile) + "\n" + strconv.Quote(k.Fingerprint))
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext, the bundle of k, under key, returning the file's
// contents.
func seal(key []byte, k Key, plaintext []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce) // never fails
	s := sealed{
		Format: sealedFormat, Profile: k.Profile, Fingerprint: k.Fingerprint,
		Nonce: nonce, Ciphertext: aead.Seal(nil, nonce, plaintext, additionalData(k)),
	}
	out, err := json.Marshal(s)
	return append(out, '\n'), err
}

// parseSealed reads a sealed file's clear fields.
func parseSealed(data []byte) (*sealed, error) {
	var s sealed
	if err := json.Unmarshal(data, &s); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("invalid JSON at byte %d", syntax.Offset)
		}
		return nil, errors.New("not an encrypted bundle")
	}
	if s.Format != sealedFormat {
		return nil, fmt.Errorf("encryption format %q, but this program reads %q", s.Format, sealedFormat)
	}
	return &s, nil
}

// open decrypts s, which must be the bundle of k, with key.
func (s *sealed) open(key []byte, k Key) ([]byte, error) {
	if s.Profile != k.Profile || s.Fingerprint != k.Fingerprint {
		return nil, fmt.Errorf("the file was written for profile %q (fingerprint %.12s), not this one", s.Profile, s.Fingerprint)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(s.Nonce) != aead.NonceSize() {
		return nil, errors.New("the file's nonce has the wrong length")
	}
	plaintext, err := aead.Open(nil, s.Nonce, s.Ciphertext, additionalData(k))
	if err != nil {
		return nil, errors.New("decryption failed: the file was altered, or its key in the OS keyring was replaced")
	}
	return plaintext, nil
}
