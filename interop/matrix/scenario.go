package matrix

import (
	"fmt"
	"strings"

	"github.com/ikelab/ikelab/ike/policy"
	"github.com/ikelab/ikelab/ike/profile"
	"github.com/ikelab/ikelab/internal/labpki"
)

// Way is one pairing of initiator and responder implementations.
type Way int

const (
	// IkelabToIkelab: cmd/initiator against cmd/responder.
	IkelabToIkelab Way = iota
	// IkelabToStrongSwan: cmd/initiator against a strongSwan responder
	// configured with the scenario's policy (Keywords of its proposals).
	IkelabToStrongSwan
	// StrongSwanToIkelab: a strongSwan initiator with the client
	// profile's proposals against cmd/responder.
	StrongSwanToIkelab
)

// Ways lists every way, in report order.
var Ways = []Way{IkelabToIkelab, IkelabToStrongSwan, StrongSwanToIkelab}

// String names the way as the report shows it.
func (w Way) String() string {
	switch w {
	case IkelabToIkelab:
		return "ikelab → ikelab"
	case IkelabToStrongSwan:
		return "ikelab → strongSwan"
	case StrongSwanToIkelab:
		return "strongSwan → ikelab"
	}
	return fmt.Sprintf("way(%d)", int(w))
}

// Slug is the way in file and test names.
func (w Way) Slug() string {
	switch w {
	case IkelabToIkelab:
		return "ikelab-ikelab"
	case IkelabToStrongSwan:
		return "ikelab-strongswan"
	case StrongSwanToIkelab:
		return "strongswan-ikelab"
	}
	return fmt.Sprintf("way%d", int(w))
}

// ikelabInitiates and ikelabResponds say which side runs ikelab.
func (w Way) ikelabInitiates() bool { return w != StrongSwanToIkelab }
func (w Way) ikelabResponds() bool  { return w != IkelabToStrongSwan }

// Credential is the client's machine certificate, from the lab PKI.
type Credential int

const (
	// RSAClient is the RSA family's client certificate (RSA-2048, AUTH
	// method 1 as Windows sends it).
	RSAClient Credential = iota
	// ECDSAClient is the ECDSA family's client certificate (P-256); the
	// server then uses the ECDSA server certificate too.
	ECDSAClient
	// RSARevoked is the RSA client certificate listed on the RSA root's
	// CRL.
	RSARevoked
	// OtherRoot is a client certificate from the root the lab does not
	// accept.
	OtherRoot
)

// String describes the credential for the report.
func (c Credential) String() string {
	switch c {
	case RSAClient:
		return "RSA machine certificate"
	case ECDSAClient:
		return "ECDSA P-256 machine certificate"
	case RSARevoked:
		return "revoked RSA machine certificate (CRL checking on)"
	case OtherRoot:
		return "machine certificate from an unaccepted root"
	}
	return fmt.Sprintf("credential(%d)", int(c))
}

// serverFamily is the family whose server certificate the responder
// presents and whose root the client trusts.
func (c Credential) serverFamily(pki *labpki.PKI) *labpki.Family {
	if c == ECDSAClient {
		return pki.ECDSA
	}
	return pki.RSA
}

// client is the certificate and key the client authenticates with.
func (c Credential) client(pki *labpki.PKI) *labpki.Issued {
	switch c {
	case ECDSAClient:
		return pki.ECDSA.Clients[0]
	case RSARevoked:
		return pki.RSA.Revoked
	case OtherRoot:
		return pki.Other.Clients[0]
	}
	return pki.RSA.Clients[0]
}

// Client is the initiator of a scenario: a built-in client profile, or a
// Windows client with custom IPsec settings.
type Client struct {
	// Profile names a built-in profile of ike/profile
	// ("windows10-default", "windows-dh2048", ...). Empty means Windows.
	Profile string
	// Windows holds Set-VpnConnectionIPsecConfiguration parameters, used
	// when Profile is empty.
	Windows policy.Windows
}

// Name labels the client in the report.
func (c Client) Name() string {
	if c.Profile != "" {
		return c.Profile
	}
	w := c.Windows
	return fmt.Sprintf("windows-custom %s/%s/%s, ESP %s/%s, PFS %s", w.EncryptionMethod, w.IntegrityCheckMethod,
		w.DHGroup, w.CipherTransformConstants, w.AuthenticationTransformConstants, w.PfsGroup)
}

// PowerShell is the command that configures a Windows client this way
// (empty for built-in profiles, which are Windows as installed).
func (c Client) PowerShell() string {
	if c.Profile != "" {
		return ""
	}
	w := c.Windows
	return fmt.Sprintf("Set-VpnConnectionIPsecConfiguration -ConnectionName 'ikelab'"+
		" -AuthenticationTransformConstants %s -CipherTransformConstants %s -EncryptionMethod %s"+
		" -IntegrityCheckMethod %s -DHGroup %s -PfsGroup %s -Force",
		w.AuthenticationTransformConstants, w.CipherTransformConstants, w.EncryptionMethod,
		w.IntegrityCheckMethod, w.DHGroup, w.PfsGroup)
}

// Resolve returns the wire behaviour of the client.
func (c Client) Resolve() (*profile.Profile, error) {
	if c.Profile != "" {
		return profile.Builtin(c.Profile)
	}
	return profile.FromWindows(c.Windows)
}

// initiatorArgs are cmd/initiator's flags for this client.
func (c Client) initiatorArgs() []string {
	if c.Profile != "" {
		return []string{"--profile", c.Profile}
	}
	w := c.Windows
	kv := []string{
		"EncryptionMethod=" + w.EncryptionMethod,
		"IntegrityCheckMethod=" + w.IntegrityCheckMethod,
		"DHGroup=" + w.DHGroup,
		"CipherTransformConstants=" + w.CipherTransformConstants,
		"AuthenticationTransformConstants=" + w.AuthenticationTransformConstants,
		"PfsGroup=" + w.PfsGroup,
	}
	return []string{"--windows", strings.Join(kv, ",")}
}

// Scenario is one row of the matrix: who connects, under which policy,
// with which certificate, and what must happen.
type Scenario struct {
	// ID names the scenario in test names and report paths.
	ID string
	// Title is a one-line summary.
	Title string
	// Client is the initiator's configuration.
	Client Client
	// Policy is the responder's built-in policy.
	Policy string
	// Credential is the client's certificate.
	Credential Credential
	// Expect is the outcome every way must observe.
	Expect Outcome
	// Explain says why, for the report and docs/scenarios.md.
	Explain string
}

// Name is the scenario's ID, for t.Run.
func (s *Scenario) Name() string { return s.ID }

// Suites the scenarios expect, in strongSwan's notation (which ikelab's
// logs and audit records share).
const (
	suiteAES128SHA256MODP2048 = "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
	suiteAES256SHA256MODP2048 = "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
	suiteAES256SHA256MODP1024 = "IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_1024"
	suiteGCM128ECP256         = "IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256"
	espAES128SHA256           = "ESP:AES_CBC_128/HMAC_SHA2_256_128/NO_EXT_SEQ"
	espAES256SHA1             = "ESP:AES_CBC_256/HMAC_SHA1_96/NO_EXT_SEQ"
	espGCM128                 = "ESP:AES_GCM_16_128/NO_EXT_SEQ"
)

// Windows' error codes (LAB.md), as a Windows client would show them.
const (
	winPolicyMismatch = 13868 // ERROR_IPSEC_IKE_POLICY_MATCH
	winAuthFailed     = 13801 // ERROR_IPSEC_IKE_AUTH_FAIL: credentials unacceptable
)

// hardenedWindows is the Set-VpnConnectionIPsecConfiguration line that
// Microsoft documents for Always On VPN and that `responder lab init`
// prints for the recommended policy: AES-128, SHA-256, group 14, PFS 2048.
var hardenedWindows = policy.Windows{
	EncryptionMethod: "AES128", IntegrityCheckMethod: "SHA256", DHGroup: "Group14",
	CipherTransformConstants: "AES128", AuthenticationTransformConstants: "SHA256128", PfsGroup: "PFS2048",
}

// gcmWindows is the AES-GCM variant Microsoft's examples use with ECDSA
// machine certificates.
var gcmWindows = policy.Windows{
	EncryptionMethod: "GCMAES128", IntegrityCheckMethod: "SHA256", DHGroup: "ECP256",
	CipherTransformConstants: "GCMAES128", AuthenticationTransformConstants: "GCMAES128", PfsGroup: "ECP256",
}

// Scenarios returns the matrix (issue 8), a fresh copy each call.
func Scenarios() []Scenario {
	return []Scenario{
		{
			ID: "win10-default-vs-recommended", Title: "Windows 10 defaults against the recommended policy",
			Client: Client{Profile: "windows10-default"}, Policy: "recommended", Credential: RSAClient,
			Expect: Outcome{Result: Refused, Exchange: "IKE_SA_INIT", Notify: "NO_PROPOSAL_CHOSEN", WindowsError: winPolicyMismatch},
			Explain: "Windows offers MODP_1024 (group 2) with every IKE proposal; the recommended policy takes " +
				"nothing below MODP_2048 (RFC 8247), so IKE_SA_INIT is answered with NO_PROPOSAL_CHOSEN and " +
				"Windows reports 13868 (policy match error).",
		},
		{
			ID: "win10-default-vs-windows-default", Title: "Windows 10 defaults against the windows-default policy",
			Client: Client{Profile: "windows10-default"}, Policy: "windows-default", Credential: RSAClient,
			Expect: Outcome{Result: Established, IKE: suiteAES256SHA256MODP1024, ESP: espAES256SHA1, PFS: "none", Insecure: true},
			Explain: "The compatibility policy accepts what Windows offers out of the box and, since the " +
				"responder's order wins, picks the least weak combination: AES-256 with SHA-256, but still " +
				"MODP_1024 for IKE and SHA-1 for ESP, with no PFS: rekeys carry no KE payload. It connects, " +
				"and it is insecure: RRAS' own default answer would be 3DES/SHA-1/MODP_1024, the \"far less " +
				"than ideal\" default.",
		},
		{
			ID: "win-aes128-pfs2048-vs-recommended", Title: "Windows set to AES128/SHA256/Group14/PFS2048 against the recommended policy",
			Client: Client{Windows: hardenedWindows}, Policy: "recommended", Credential: RSAClient,
			Expect: Outcome{Result: Established, IKE: suiteAES128SHA256MODP2048, ESP: espAES128SHA256, PFS: "MODP_2048"},
			Explain: "The PowerShell line that \"responder lab init\" prints: the client offers exactly the " +
				"recommended policy's first proposal. The child SA's PFS group (MODP_2048) is not used in " +
				"IKE_AUTH (RFC 7296, Section 1.2); it applies when the child SA is rekeyed with " +
				"CREATE_CHILD_SA, which the strongSwan → ikelab run does from both ends.",
		},
		{
			ID: "win-gcm128-ecp256-ecdsa-vs-recommended", Title: "Windows set to GCMAES128/ECP256 with an ECDSA certificate against the recommended policy",
			Client: Client{Windows: gcmWindows}, Policy: "recommended", Credential: ECDSAClient,
			Expect: Outcome{Result: Established, IKE: suiteGCM128ECP256, ESP: espGCM128, PFS: "ECP_256"},
			Explain: "AES-GCM for IKE and ESP with ECP_256 and ECDSA (P-256) certificates on both sides: the " +
				"cheapest strong suite, in the recommended policy. Rekeys of the child SA use ECP_256 for PFS.",
		},
		{
			ID: "win-dh2048-vs-recommended", Title: "Windows with NegotiateDH2048_AES256 against the recommended policy",
			Client: Client{Profile: "windows-dh2048"}, Policy: "recommended", Credential: RSAClient,
			Expect: Outcome{Result: ChildRefused, IKE: suiteAES256SHA256MODP2048, Exchange: "IKE_AUTH",
				Notify: "NO_PROPOSAL_CHOSEN", WindowsError: winPolicyMismatch},
			Explain: "The registry value makes Windows offer AES-256 with MODP_2048, so the IKE SA comes up " +
				"(AES-256/SHA-256/MODP_2048). It does not change the ESP defaults, AES with HMAC-SHA-1: the " +
				"recommended policy wants SHA-256 or GCM for ESP, so the child SA in IKE_AUTH is refused with " +
				"NO_PROPOSAL_CHOSEN while the IKE SA stands; Windows shows 13868. The fix is on the client " +
				"(Set-VpnConnectionIPsecConfiguration), not a weaker policy.",
		},
		{
			ID: "revoked-cert-vs-recommended", Title: "Revoked machine certificate, CRL checking on",
			Client: Client{Windows: hardenedWindows}, Policy: "recommended", Credential: RSARevoked,
			Expect: Outcome{Result: Refused, Exchange: "IKE_AUTH", Notify: "AUTHENTICATION_FAILED", WindowsError: winAuthFailed},
			Explain: "The certificate chains to an accepted root but is on the root's CRL; both responders " +
				"check CRLs strictly and answer IKE_AUTH with AUTHENTICATION_FAILED. Windows shows 13801 " +
				"(IKE authentication credentials are unacceptable).",
		},
		{
			ID: "other-root-vs-recommended", Title: "Machine certificate from an unaccepted root",
			Client: Client{Windows: hardenedWindows}, Policy: "recommended", Credential: OtherRoot,
			Expect: Outcome{Result: Refused, Exchange: "IKE_AUTH", Notify: "AUTHENTICATION_FAILED", WindowsError: winAuthFailed},
			Explain: "The certificate does not chain to a root the responder trusts: AUTHENTICATION_FAILED " +
				"in IKE_AUTH, 13801 on Windows.",
		},
	}
}
