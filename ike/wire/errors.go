package wire

import (
	"errors"
	"fmt"
)

// ErrVersion is returned for a message whose major version is not 2. The
// header is still returned so a caller can answer INVALID_MAJOR_VERSION
// (RFC 7296, Section 2.5) or recognise IKEv1.
var ErrVersion = errors.New("wire: not an IKEv2 message")

// A SyntaxError reports malformed input. The RFC answer to it is an
// INVALID_SYNTAX notification (RFC 7296, Section 3.10.1), or silence where
// the message cannot be authenticated.
type SyntaxError struct {
	Payload PayloadType // payload being parsed, PayloadNone for the header
	Msg     string
}

func (e *SyntaxError) Error() string {
	if e.Payload == PayloadNone {
		return "wire: invalid syntax: " + e.Msg
	}
	return fmt.Sprintf("wire: invalid syntax in %s payload: %s", e.Payload, e.Msg)
}

// Notify returns the notification the RFC asks for.
func (e *SyntaxError) Notify() NotifyType { return INVALID_SYNTAX }

// NotifyData returns the notification data; INVALID_SYNTAX carries none.
func (e *SyntaxError) NotifyData() []byte { return nil }

// An UnsupportedCriticalError reports a payload of an unknown type whose
// critical bit was set; the whole message must be rejected with
// UNSUPPORTED_CRITICAL_PAYLOAD carrying the type (RFC 7296, Section 2.5).
type UnsupportedCriticalError struct {
	Type PayloadType
}

func (e *UnsupportedCriticalError) Error() string {
	return fmt.Sprintf("wire: unsupported critical payload type %d", uint8(e.Type))
}

// Notify returns the notification the RFC asks for.
func (e *UnsupportedCriticalError) Notify() NotifyType { return UNSUPPORTED_CRITICAL_PAYLOAD }

// NotifyData returns the one-octet payload type (RFC 7296, Section 3.10.1).
func (e *UnsupportedCriticalError) NotifyData() []byte { return []byte{uint8(e.Type)} }

func syntaxErr(p PayloadType, format string, args ...any) error {
	return &SyntaxError{Payload: p, Msg: fmt.Sprintf(format, args...)}
}
