// Package crypto holds ikelab's IKEv2 cryptography: the transform registry
// keyed by IANA transform ID, the SK payload ciphers, PRFs and prf+, the key
// exchange methods with RFC 6989 peer checks, the RFC 7296 key schedule, AUTH
// payload computation, and the table that maps ESP transforms to the names
// the Linux kernel's XFRM layer expects.
//
// Everything here is a pure function over byte slices or a value built from
// one: no I/O, no clock, and randomness only through an io.Reader the caller
// passes in.
package crypto

import (
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/ikelab/ikelab/ike/wire"
)

// Sentinel errors. Every error this package returns wraps one of them, so a
// caller picks the notify to send with errors.Is.
var (
	// ErrUnsupported reports a transform, key size or signature scheme that
	// this package does not implement.
	ErrUnsupported = errors.New("crypto: unsupported algorithm")

	// ErrKeyLength reports key material of the wrong length for a transform.
	ErrKeyLength = errors.New("crypto: wrong key length")

	// ErrInvalidPublic reports a peer key exchange value that fails the
	// length, range, subgroup or curve checks of RFC 7296 Section 3.4 and
	// RFC 6989. The engine answers it with INVALID_SYNTAX (RFC 7296,
	// Section 3.4: a KE payload of the wrong size) and must not continue the
	// exchange. Use errors.As with *InvalidPublicError for the reason.
	ErrInvalidPublic = errors.New("crypto: invalid key exchange public value")

	// ErrAuthentication reports an SK payload whose integrity check value
	// does not verify. RFC 7296, Section 2.21.1: such a message is dropped
	// silently, without a response.
	ErrAuthentication = errors.New("crypto: integrity check failed")

	// ErrDecrypt reports an SK payload body that cannot be a valid
	// encryption: too short, not a whole number of blocks, or a pad length
	// that runs past the start of the plaintext. It is also dropped silently.
	ErrDecrypt = errors.New("crypto: malformed encrypted payload")

	// ErrSignature reports an AUTH payload that does not verify. The engine
	// answers it with AUTHENTICATION_FAILED (RFC 7296, Section 2.21.2).
	ErrSignature = errors.New("crypto: authentication data does not verify")

	// ErrKeyMismatch reports a signing or verification key whose type or
	// curve does not fit the AUTH method or signature scheme (for example an
	// RSA key with method 9, or a P-384 key with method 9).
	ErrKeyMismatch = errors.New("crypto: key does not fit the authentication method")

	// ErrOutputTooLong reports a prf+ request for more than 255 blocks
	// (RFC 7296, Section 2.13).
	ErrOutputTooLong = errors.New("crypto: prf+ output longer than 255 blocks")
)

// InvalidPublicError says which check a peer's key exchange value failed.
// It matches ErrInvalidPublic under errors.Is.
type InvalidPublicError struct {
	// Method is the key exchange method (Transform Type 4 ID).
	Method wire.TransformID
	// Reason is a short lower-case description, for logs and audit records.
	Reason string
}

func (e *InvalidPublicError) Error() string {
	return fmt.Sprintf("crypto: invalid %s public value: %s",
		wire.TransformName(wire.TransformKE, e.Method), e.Reason)
}

// Is makes errors.Is(err, ErrInvalidPublic) true.
func (e *InvalidPublicError) Is(target error) bool { return target == ErrInvalidPublic }

func invalidPublic(id wire.TransformID, reason string) error {
	return &InvalidPublicError{Method: id, Reason: reason}
}

func unsupported(t wire.TransformType, id wire.TransformID) error {
	return fmt.Errorf("crypto: %s: %w", wire.TransformName(t, id), ErrUnsupported)
}

// randOr returns r, or crypto/rand.Reader when r is nil: every function that
// takes a random source accepts nil to mean the system's.
func randOr(r io.Reader) io.Reader {
	if r == nil {
		return cryptorand.Reader
	}
	return r
}
