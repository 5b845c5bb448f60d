package policy

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/ikelab/ikelab/ike/wire"
)

// ParseError reports a proposal string that does not parse or cannot be
// negotiated.
type ParseError struct {
	// Input is the proposal text as given.
	Input string
	// Keyword is the offending keyword; empty when the proposal as a whole
	// is at fault.
	Keyword string
	// Reason says what is wrong.
	Reason string
}

// Error names the proposal and, when there is one, the keyword.
func (e *ParseError) Error() string {
	if e.Keyword != "" {
		return fmt.Sprintf("policy: proposal %q: %s %q", e.Input, e.Reason, e.Keyword)
	}
	return fmt.Sprintf("policy: proposal %q: %s", e.Input, e.Reason)
}

// FieldError ties a configuration error to the field it comes from, so
// that a config loader can point at the line: "windows.DHGroup", "ike[1]",
// "builtin". Field paths are relative to the policy section.
type FieldError struct {
	Field string
	Err   error
}

// Error names the field, then the underlying problem.
func (e *FieldError) Error() string {
	return "policy: " + e.Field + ": " + strings.TrimPrefix(e.Err.Error(), "policy: ")
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// NoProposalError is a refused SA offer: the engine answers it with
// NO_PROPOSAL_CHOSEN (RFC 7296, Section 2.7) and writes Reason to the audit
// record.
type NoProposalError struct {
	// Protocol is the protocol of the SA being negotiated (IKE or ESP).
	Protocol wire.ProtocolID
	// Offered lists each offered proposal in strongSwan form.
	Offered []string
	// Required lists each policy proposal in strongSwan form.
	Required []string
	// Ignored lists offered proposals and transforms that were not
	// considered because they break the protocol (RFC 7296, Section 3.3.6):
	// a key length missing where required, an unknown attribute, a
	// transform type the protocol does not allow.
	Ignored []string
	// Reason names the transform types for which nothing the client offered
	// is acceptable, e.g. "client offered only MODP_1024; policy requires
	// MODP_2048, ECP_256 or ECP_384".
	Reason string
}

// Error is the protocol and the reason.
func (e *NoProposalError) Error() string {
	return fmt.Sprintf("policy: no acceptable %s proposal: %s", e.Protocol, e.Reason)
}

// Notify returns the notify type to answer with: NO_PROPOSAL_CHOSEN.
func (e *NoProposalError) Notify() wire.NotifyType { return wire.NO_PROPOSAL_CHOSEN }

// InvalidKEError reports a KE payload whose group differs from the group
// of the selected proposal. The engine answers with INVALID_KE_PAYLOAD
// naming Want (RFC 7296, Sections 1.2 and 3.10.1) and keeps no state.
type InvalidKEError struct {
	// Sent is the group of the KE payload received; KE_NONE when there was
	// none (CREATE_CHILD_SA without PFS).
	Sent wire.TransformID
	// Want is the group of the selected proposal.
	Want wire.TransformID
}

// Error names the group sent and the group wanted.
func (e *InvalidKEError) Error() string {
	return fmt.Sprintf("policy: KE payload uses %s, the selected proposal uses %s",
		wire.TransformName(wire.TransformKE, e.Sent), wire.TransformName(wire.TransformKE, e.Want))
}

// Notify returns the notify type to answer with: INVALID_KE_PAYLOAD.
func (e *InvalidKEError) Notify() wire.NotifyType { return wire.INVALID_KE_PAYLOAD }

// NotifyData returns the notification data: the accepted group as two
// octets (RFC 7296, Section 3.10.1).
func (e *InvalidKEError) NotifyData() []byte {
	return binary.BigEndian.AppendUint16(nil, uint16(e.Want))
}

// ExportError reports a policy that Windows' client settings cannot
// express: Windows takes exactly one IKE and one ESP combination from fixed
// lists of names.
type ExportError struct {
	// Protocol is the proposal list that has no Windows equivalent.
	Protocol wire.ProtocolID
	// Reasons says, for each proposal, what Windows cannot express.
	Reasons []string
}

// Error lists, per proposal, what Windows cannot express.
func (e *ExportError) Error() string {
	return fmt.Sprintf("policy: Windows cannot express any %s proposal of this policy: %s",
		e.Protocol, strings.Join(e.Reasons, "; "))
}
