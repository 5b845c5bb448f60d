// Package policy is the responder's IKE and ESP proposal policy: what it
// accepts, in which order it prefers it, and why it refused an offer.
//
// A Policy is written in one of two spellings that parse into the same
// value: strongSwan proposal strings ("aes128-sha256-modp2048",
// "aes128gcm16-prfsha256-ecp256"), or the parameter values of Windows'
// Set-VpnServerConfiguration -CustomPolicy, so that an administrator can
// paste an RRAS configuration unchanged. Two policies are built in:
// "recommended" (the default) and "windows-default" (what a Windows client
// offers out of the box, marked insecure).
//
// Selection follows RFC 7296, Sections 2.7 and 3.3.6, as a responder whose
// own preference order wins, like strongSwan's default: SelectIKE for
// IKE_SA_INIT (and IKE SA rekeys), SelectESP for child SAs. A refusal is a
// *NoProposalError that carries the NO_PROPOSAL_CHOSEN notify type and a
// reason an administrator can act on, built by comparing the offer with
// the policy per transform type ("client offered only MODP_1024; policy
// requires MODP_2048, ECP_256 or ECP_384"). A KE payload whose group differs
// from the selected one is reported by CheckKE so that the engine can send
// INVALID_KE_PAYLOAD (RFC 7296, Section 1.2).
//
// The reverse direction exists too: ExportPowerShell and ExportProfileXML
// print the Windows client settings that the policy accepts.
package policy
