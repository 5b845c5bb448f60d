package ike

import (
	"errors"
	"fmt"

	"github.com/ikelab/ikelab/ike/wire"
)

// A NotifyError is a protocol failure that the engine answers with a
// Notify payload, like crypto/tls's alerts: the type to send, its data, and
// a reason for the log and the audit record.
type NotifyError struct {
	Type   wire.NotifyType
	Data   []byte
	Reason string
	Err    error
}

func (e *NotifyError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("ike: %s: %s: %v", e.Type, e.Reason, e.Err)
	}
	return fmt.Sprintf("ike: %s: %s", e.Type, e.Reason)
}

func (e *NotifyError) Unwrap() error { return e.Err }

func notifyErr(t wire.NotifyType, err error, format string, args ...any) *NotifyError {
	return &NotifyError{Type: t, Reason: fmt.Sprintf(format, args...), Err: err}
}

// asNotify maps any error to the notification to answer it with: wire
// errors carry their own (INVALID_SYNTAX, UNSUPPORTED_CRITICAL_PAYLOAD).
func asNotify(err error) *NotifyError {
	var ne *NotifyError
	if errors.As(err, &ne) {
		return ne
	}
	var carrier interface {
		Notify() wire.NotifyType
		NotifyData() []byte
	}
	if errors.As(err, &carrier) {
		return &NotifyError{Type: carrier.Notify(), Data: carrier.NotifyData(), Reason: err.Error(), Err: err}
	}
	return &NotifyError{Type: wire.INVALID_SYNTAX, Reason: err.Error(), Err: err}
}
