package policy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ikelab/ikelab/ike/wire"
)

// Windows holds IPsec parameters in Windows' own names, as
// Set-VpnServerConfiguration -CustomPolicy takes them on an RRAS server and
// Set-VpnConnectionIPsecConfiguration (or a ProfileXML CryptographySuite)
// on a client. Values are matched case-insensitively. Windows expresses
// exactly one IKE combination and one ESP combination.
//
// In a YAML config the keys are these names, also matched
// case-insensitively, so "PFSgroup: PFS2048" copied from PowerShell works.
type Windows struct {
	// EncryptionMethod is the IKE SA cipher: DES, DES3, AES128, AES192,
	// AES256, GCMAES128 or GCMAES256 (ProfileXML spells the last two
	// AES_GCM_128 and AES_GCM_256; both spellings are read).
	EncryptionMethod string `yaml:"EncryptionMethod"`
	// IntegrityCheckMethod is the IKE SA integrity algorithm and PRF: MD5,
	// SHA196, SHA256 or SHA384. With a GCM EncryptionMethod it names only
	// the PRF.
	IntegrityCheckMethod string `yaml:"IntegrityCheckMethod"`
	// DHGroup is the IKE SA key exchange: Group1 (MODP_768), Group2
	// (MODP_1024), Group14 (MODP_2048), ECP256, ECP384 or Group24
	// (MODP_2048_256). None is refused: IKEv2 always has a key exchange.
	DHGroup string `yaml:"DHGroup"`
	// CipherTransformConstants is the ESP cipher: DES, DES3, AES128,
	// AES192, AES256, GCMAES128, GCMAES192, GCMAES256 or None (ENCR_NULL).
	CipherTransformConstants string `yaml:"CipherTransformConstants"`
	// AuthenticationTransformConstants is the ESP integrity algorithm:
	// MD596, SHA196, SHA256128, or GCMAES128, GCMAES192, GCMAES256 (the
	// AES-GCM cipher's own ICV, which requires the same
	// CipherTransformConstants), or None.
	AuthenticationTransformConstants string `yaml:"AuthenticationTransformConstants"`
	// PfsGroup is the child SA rekey key exchange: None, PFS1 (MODP_768),
	// PFS2 (MODP_1024), PFS2048 (MODP_2048), ECP256, ECP384, PFS24
	// (MODP_2048_256) or PFSMM (the DHGroup of the IKE SA).
	PfsGroup string `yaml:"PfsGroup"`
	// SALifeTimeSeconds is the child SA lifetime, 300 to 17279999 seconds;
	// 0 means Windows' default, 28800.
	SALifeTimeSeconds int `yaml:"SALifeTimeSeconds"`
	// MMSALifeTimeSeconds is the IKE SA ("main mode") lifetime in seconds;
	// 0 means Windows' default, 86400.
	MMSALifeTimeSeconds int `yaml:"MMSALifeTimeSeconds"`
	// SADataSizeForRenegotiationKilobytes is how many kilobytes (of 1024
	// octets) a child SA carries before it is rekeyed, at least 1024; 0
	// means Windows' default, 1024000.
	SADataSizeForRenegotiationKilobytes int `yaml:"SADataSizeForRenegotiationKilobytes"`
}

// winValue is one Windows name and the algorithm it stands for.
type winValue struct {
	name string
	alg  Algorithm // zero for None and PFSMM
	// xml is the ProfileXML spelling where it differs from PowerShell's.
	xml string
}

// Names from the PowerShell enums (LAB.md; Microsoft's RemoteAccess and
// VpnClient cmdlet documentation; the IPSEC_PFS_GROUP enum for PFS).
var (
	winEncryption = []winValue{
		{name: "DES", alg: encr(wire.ENCR_DES, 0)},
		{name: "DES3", alg: encr(wire.ENCR_3DES, 0)},
		{name: "AES128", alg: encr(wire.ENCR_AES_CBC, 128)},
		{name: "AES192", alg: encr(wire.ENCR_AES_CBC, 192)},
		{name: "AES256", alg: encr(wire.ENCR_AES_CBC, 256)},
		// Windows' AES-GCM uses the 16-octet ICV (RFC 5282 AES_GCM_16).
		{name: "GCMAES128", alg: encr(wire.ENCR_AES_GCM_16, 128), xml: "AES_GCM_128"},
		{name: "GCMAES256", alg: encr(wire.ENCR_AES_GCM_16, 256), xml: "AES_GCM_256"},
	}
	// The integrity algorithm; the PRF follows from it (prfForInteg).
	winIntegrity = []winValue{
		{name: "MD5", alg: integ(wire.AUTH_HMAC_MD5_96)},
		{name: "SHA196", alg: integ(wire.AUTH_HMAC_SHA1_96)},
		{name: "SHA256", alg: integ(wire.AUTH_HMAC_SHA2_256_128)},
		{name: "SHA384", alg: integ(wire.AUTH_HMAC_SHA2_384_192)},
	}
	winDHGroup = []winValue{
		{name: "None"},
		{name: "Group1", alg: ke(wire.MODP_768)},
		{name: "Group2", alg: ke(wire.MODP_1024)},
		{name: "Group14", alg: ke(wire.MODP_2048)},
		{name: "ECP256", alg: ke(wire.ECP_256)},
		{name: "ECP384", alg: ke(wire.ECP_384)},
		{name: "Group24", alg: ke(wire.MODP_2048_256)},
	}
	winCipher = []winValue{
		{name: "None", alg: encr(wire.ENCR_NULL, 0)},
		{name: "DES", alg: encr(wire.ENCR_DES, 0)},
		{name: "DES3", alg: encr(wire.ENCR_3DES, 0)},
		{name: "AES128", alg: encr(wire.ENCR_AES_CBC, 128)},
		{name: "AES192", alg: encr(wire.ENCR_AES_CBC, 192)},
		{name: "AES256", alg: encr(wire.ENCR_AES_CBC, 256)},
		{name: "GCMAES128", alg: encr(wire.ENCR_AES_GCM_16, 128)},
		{name: "GCMAES192", alg: encr(wire.ENCR_AES_GCM_16, 192)},
		{name: "GCMAES256", alg: encr(wire.ENCR_AES_GCM_16, 256)},
	}
	// The GCM values name the cipher whose ICV protects the packet.
	winAuth = []winValue{
		{name: "None"},
		{name: "MD596", alg: integ(wire.AUTH_HMAC_MD5_96)},
		{name: "SHA196", alg: integ(wire.AUTH_HMAC_SHA1_96)},
		{name: "SHA256128", alg: integ(wire.AUTH_HMAC_SHA2_256_128)},
		{name: "GCMAES128", alg: encr(wire.ENCR_AES_GCM_16, 128)},
		{name: "GCMAES192", alg: encr(wire.ENCR_AES_GCM_16, 192)},
		{name: "GCMAES256", alg: encr(wire.ENCR_AES_GCM_16, 256)},
	}
	winPFS = []winValue{
		{name: "None"},
		{name: "PFS1", alg: ke(wire.MODP_768)},
		{name: "PFS2", alg: ke(wire.MODP_1024)},
		{name: "PFS2048", alg: ke(wire.MODP_2048)},
		{name: "ECP256", alg: ke(wire.ECP_256)},
		{name: "ECP384", alg: ke(wire.ECP_384)},
		{name: "PFS24", alg: ke(wire.MODP_2048_256)},
		{name: "PFSMM"},
	}
)

// Limits from Microsoft's ROUTER_IKEv2_IF_CUSTOM_CONFIG0 documentation.
const (
	winMinSALifetime = 300
	winMaxSALifetime = 17279999
	winMinDataSizeKB = 1024
)

func winNames(table []winValue) string {
	names := make([]string, len(table))
	for i, v := range table {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

// lookup finds value in table, case-insensitively, in either spelling.
func lookup(field, value string, table []winValue) (winValue, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return winValue{}, &FieldError{Field: field, Err: fmt.Errorf("required; one of %s", winNames(table))}
	}
	for _, w := range table {
		if strings.EqualFold(v, w.name) || (w.xml != "" && strings.EqualFold(v, w.xml)) {
			return w, nil
		}
	}
	return winValue{}, &FieldError{Field: field, Err: fmt.Errorf("%q is not one of %s", value, winNames(table))}
}

// FromWindows builds a policy from Windows parameters, as an RRAS server
// with that custom policy would accept: one IKE proposal and one ESP
// proposal (with PFS when PfsGroup is not None). Errors are *FieldError
// values naming the Windows parameter, joined when several are wrong; they
// list the allowed values, refuse combinations Windows refuses (a GCM
// cipher with a non-GCM authentication constant, GCM constants of different
// key sizes), and say when a value means an algorithm ikelab does not
// implement (Group1/PFS1 = MODP_768, DES, None = ENCR_NULL).
func FromWindows(w Windows) (*Policy, error) {
	var errs []error
	get := func(field, value string, table []winValue) winValue {
		v, err := lookup(field, value, table)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	enc := get("EncryptionMethod", w.EncryptionMethod, winEncryption)
	itg := get("IntegrityCheckMethod", w.IntegrityCheckMethod, winIntegrity)
	dh := get("DHGroup", w.DHGroup, winDHGroup)
	ciph := get("CipherTransformConstants", w.CipherTransformConstants, winCipher)
	auth := get("AuthenticationTransformConstants", w.AuthenticationTransformConstants, winAuth)
	pfs := get("PfsGroup", w.PfsGroup, winPFS)
	fieldErr := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if dh.name == "None" {
		fieldErr("DHGroup", "None: an IKEv2 SA always has a key exchange (RFC 7296, Section 1.2)")
	}
	ciphGCM, authGCM := ciph.alg.AEAD(), auth.alg.AEAD()
	switch {
	case ciph.name == "" || auth.name == "":
		// already reported
	case ciphGCM && !authGCM:
		fieldErr("AuthenticationTransformConstants", "%s with CipherTransformConstants %s: Windows requires the matching GCM constant %s", auth.name, ciph.name, ciph.name)
	case authGCM && ciph.alg != auth.alg:
		fieldErr("CipherTransformConstants", "%s with AuthenticationTransformConstants %s: Windows requires the matching GCM cipher %s", ciph.name, auth.name, auth.name)
	case !ciphGCM && auth.name == "None":
		fieldErr("AuthenticationTransformConstants", "None with CipherTransformConstants %s: ESP encryption without integrity protection is refused (RFC 8221, Section 5)", ciph.name)
	}
	// Algorithms that parse but that ikelab does not implement.
	for _, f := range []struct {
		field string
		v     winValue
	}{
		{"EncryptionMethod", enc}, {"IntegrityCheckMethod", itg}, {"DHGroup", dh},
		{"CipherTransformConstants", ciph}, {"AuthenticationTransformConstants", auth}, {"PfsGroup", pfs},
	} {
		if f.v.alg != (Algorithm{}) && !f.v.alg.Supported() {
			fieldErr(f.field, "%s means %s: %w", f.v.name, f.v.alg, errNotImplemented(f.v.alg))
		}
	}
	p := &Policy{Name: windowsCustomName}
	var err error
	if p.IKELifetime, err = winSeconds(w.MMSALifeTimeSeconds, DefaultIKELifetime, 1, math.MaxInt32); err != nil {
		errs = append(errs, &FieldError{Field: "MMSALifeTimeSeconds", Err: err})
	}
	if p.ChildLifetime, err = winSeconds(w.SALifeTimeSeconds, DefaultChildLifetime, winMinSALifetime, winMaxSALifetime); err != nil {
		errs = append(errs, &FieldError{Field: "SALifeTimeSeconds", Err: err})
	}
	switch kb := w.SADataSizeForRenegotiationKilobytes; {
	case kb == 0:
		p.ChildLifeBytes = DefaultChildLifeBytes
	case kb < winMinDataSizeKB:
		fieldErr("SADataSizeForRenegotiationKilobytes", "%d is below Windows' minimum of %d", kb, winMinDataSizeKB)
	default:
		p.ChildLifeBytes = uint64(kb) * kilobyte
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	ikeProp := Proposal{Protocol: wire.ProtoIKE, Encr: []Algorithm{enc.alg},
		PRF: []Algorithm{prf(prfForInteg[itg.alg.ID])}, KE: []Algorithm{dh.alg}}
	if !enc.alg.AEAD() {
		// With GCM, Windows' integrity method names only the PRF.
		ikeProp.Integ = []Algorithm{itg.alg}
	}
	espProp := Proposal{Protocol: wire.ProtoESP, Encr: []Algorithm{ciph.alg}, ESN: []Algorithm{esn(wire.ESN_NO)}}
	if !ciphGCM {
		espProp.Integ = []Algorithm{auth.alg}
	}
	switch pfs.name {
	case "None":
	case "PFSMM":
		espProp.KE = []Algorithm{dh.alg}
	default:
		espProp.KE = []Algorithm{pfs.alg}
	}
	p.IKE, p.ESP = []Proposal{ikeProp}, []Proposal{espProp}
	p.markWeak()
	if err := p.Validate(); err != nil {
		return nil, err // the checks above should have caught it
	}
	return p, nil
}

func winSeconds(v int, def time.Duration, lo, hi int) (time.Duration, error) {
	switch {
	case v == 0:
		return def, nil
	case v < lo || v > hi:
		return 0, fmt.Errorf("%d is outside %d..%d", v, lo, hi)
	}
	return time.Duration(v) * time.Second, nil
}

// ToWindows returns the Windows parameters for the policy's most preferred
// IKE and ESP combinations that Windows can express, which a Windows client
// set to them will have accepted. When no IKE or no ESP proposal has a
// Windows equivalent, the error is an *ExportError naming, per proposal,
// what Windows lacks (ChaCha20, SHA-512, Curve25519, a PRF unlike the
// integrity algorithm, extended sequence numbers, ...). PfsGroup is always
// an explicit group, never PFSMM.
func (p *Policy) ToWindows() (Windows, error) {
	w, _, err := p.toWindows()
	return w, err
}

// toWindows also returns the algorithms of the exported combination.
func (p *Policy) toWindows() (Windows, []Algorithm, error) {
	var w Windows
	var chosen []Algorithm
	var reasons []string
	found := false
	for _, pr := range p.IKE {
		algs, why := ikeToWindows(pr, &w)
		if why == "" {
			chosen, found = append(chosen, algs...), true
			break
		}
		reasons = append(reasons, pr.String()+": "+why)
	}
	if !found {
		return Windows{}, nil, &ExportError{Protocol: wire.ProtoIKE, Reasons: reasons}
	}
	reasons, found = nil, false
	for _, pr := range p.ESP {
		algs, why := espToWindows(pr, &w)
		if why == "" {
			chosen, found = append(chosen, algs...), true
			break
		}
		reasons = append(reasons, pr.String()+": "+why)
	}
	if !found {
		return Windows{}, nil, &ExportError{Protocol: wire.ProtoESP, Reasons: reasons}
	}
	w.MMSALifeTimeSeconds = int(p.IKELifetime / time.Second)
	w.SALifeTimeSeconds = int(p.ChildLifetime / time.Second)
	w.SADataSizeForRenegotiationKilobytes = int(p.ChildLifeBytes / kilobyte)
	return w, chosen, nil
}

// nameOf returns the first algorithm of list that has a name in table.
func nameOf(list []Algorithm, table []winValue, ok func(Algorithm) bool) (string, Algorithm) {
	for _, a := range list {
		if ok != nil && !ok(a) {
			continue
		}
		for _, v := range table {
			if v.alg == a && a != (Algorithm{}) {
				return v.name, a
			}
		}
	}
	return "", Algorithm{}
}

func names(list []Algorithm) string {
	s := make([]string, len(list))
	for i, a := range list {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// ikeToWindows fills the IKE fields of w from pr, or says why it cannot.
func ikeToWindows(pr Proposal, w *Windows) ([]Algorithm, string) {
	var missing []string
	enc, encAlg := nameOf(pr.Encr, winEncryption, Algorithm.Supported)
	if enc == "" {
		missing = append(missing, "no EncryptionMethod for "+names(pr.Encr))
	}
	// Windows' IntegrityCheckMethod sets the integrity algorithm and the
	// PRF together; with GCM it is the PRF alone.
	var itg string
	var itgAlgs []Algorithm
	if len(pr.Encr) > 0 && pr.Encr[0].AEAD() {
		for _, f := range pr.PRF {
			for _, v := range winIntegrity {
				if prfForInteg[v.alg.ID] == f.ID && itg == "" {
					itg, itgAlgs = v.name, []Algorithm{f}
				}
			}
		}
		if itg == "" {
			missing = append(missing, "no IntegrityCheckMethod for "+names(pr.PRF))
		}
	} else {
		name, a := nameOf(pr.Integ, winIntegrity, func(a Algorithm) bool {
			return slices.Contains(pr.PRF, prf(prfForInteg[a.ID]))
		})
		if name == "" {
			missing = append(missing, fmt.Sprintf("no IntegrityCheckMethod for %s with %s", names(pr.Integ), names(pr.PRF)))
		} else {
			itg, itgAlgs = name, []Algorithm{a, prf(prfForInteg[a.ID])}
		}
	}
	dh, dhAlg := nameOf(pr.KE, winDHGroup, Algorithm.Supported)
	if dh == "" {
		missing = append(missing, "no DHGroup for "+names(pr.KE))
	}
	if len(missing) > 0 {
		return nil, strings.Join(missing, ", ")
	}
	w.EncryptionMethod, w.IntegrityCheckMethod, w.DHGroup = enc, itg, dh
	return append(append([]Algorithm{encAlg}, itgAlgs...), dhAlg), ""
}

// espToWindows fills the ESP fields of w from pr, or says why it cannot.
func espToWindows(pr Proposal, w *Windows) ([]Algorithm, string) {
	var missing []string
	ciph, ciphAlg := nameOf(pr.Encr, winCipher, Algorithm.Supported)
	if ciph == "" {
		missing = append(missing, "no CipherTransformConstants for "+names(pr.Encr))
	}
	auth := ciph // a GCM cipher's ICV: the same constant
	var authAlg Algorithm
	if !ciphAlg.AEAD() {
		auth, authAlg = nameOf(pr.Integ, winAuth, nil)
		if auth == "" {
			missing = append(missing, "no AuthenticationTransformConstants for "+names(pr.Integ))
		}
	}
	pfs, pfsAlg := "None", Algorithm{}
	if len(pr.KE) > 0 {
		if pfs, pfsAlg = nameOf(pr.KE, winPFS, Algorithm.Supported); pfs == "" {
			missing = append(missing, "no PfsGroup for "+names(pr.KE))
		}
	}
	if len(pr.ESN) > 0 && !slices.Contains(pr.ESN, esn(wire.ESN_NO)) {
		missing = append(missing, "Windows does not negotiate extended sequence numbers")
	}
	if len(missing) > 0 {
		return nil, strings.Join(missing, ", ")
	}
	w.CipherTransformConstants, w.AuthenticationTransformConstants, w.PfsGroup = ciph, auth, pfs
	var algs []Algorithm
	for _, a := range []Algorithm{ciphAlg, authAlg, pfsAlg} {
		if a != (Algorithm{}) {
			algs = append(algs, a)
		}
	}
	return algs, ""
}

// weakNote returns the weak algorithms among algs, or "".
func weakNote(algs []Algorithm) string {
	var weak []Algorithm
	for _, a := range algs {
		if a.Weak() {
			weak = appendUnique(weak, a)
		}
	}
	if len(weak) == 0 {
		return ""
	}
	return "these settings use weak algorithms: " + names(weak)
}

// ExportPowerShell returns the Set-VpnConnectionIPsecConfiguration command
// that sets a Windows client's VPN connection connName to settings this
// policy accepts (see ToWindows), preceded by a comment line when those
// settings use weak algorithms. The name is quoted for PowerShell.
func (p *Policy) ExportPowerShell(connName string) (string, error) {
	if connName == "" || strings.ContainsFunc(connName, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("policy: connection name %q is empty or has control characters", connName)
	}
	w, algs, err := p.toWindows()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if note := weakNote(algs); note != "" {
		fmt.Fprintf(&b, "# warning: %s\n", note)
	}
	fmt.Fprintf(&b, "Set-VpnConnectionIPsecConfiguration -ConnectionName %s"+
		" -AuthenticationTransformConstants %s -CipherTransformConstants %s"+
		" -EncryptionMethod %s -IntegrityCheckMethod %s -DHGroup %s -PfsGroup %s -Force\n",
		psQuote(connName), w.AuthenticationTransformConstants, w.CipherTransformConstants,
		w.EncryptionMethod, w.IntegrityCheckMethod, w.DHGroup, w.PfsGroup)
	return b.String(), nil
}

// psQuote returns s as a PowerShell verbatim string: single quotes, in
// which nothing expands; PowerShell takes the typographic single quotes
// as quotes too, and each is escaped by doubling it.
func psQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// ExportProfileXML returns the <CryptographySuite> element of a VPNv2
// ProfileXML (Intune, MDM) with settings this policy accepts (see
// ToWindows). ProfileXML spells the GCM EncryptionMethod values
// AES_GCM_128 and AES_GCM_256; everything else as in PowerShell.
func (p *Policy) ExportProfileXML() (string, error) {
	w, algs, err := p.toWindows()
	if err != nil {
		return "", err
	}
	enc := w.EncryptionMethod
	for _, v := range winEncryption {
		if v.name == enc && v.xml != "" {
			enc = v.xml
		}
	}
	var b strings.Builder
	if note := weakNote(algs); note != "" {
		fmt.Fprintf(&b, "<!-- warning: %s -->\n", note)
	}
	b.WriteString("<CryptographySuite>\n")
	for _, e := range [][2]string{
		{"AuthenticationTransformConstants", w.AuthenticationTransformConstants},
		{"CipherTransformConstants", w.CipherTransformConstants},
		{"EncryptionMethod", enc},
		{"IntegrityCheckMethod", w.IntegrityCheckMethod},
		{"DHGroup", w.DHGroup},
		{"PfsGroup", w.PfsGroup},
	} {
		// The values come from the fixed tables above: no escaping needed.
		fmt.Fprintf(&b, "  <%s>%s</%s>\n", e[0], e[1], e[0])
	}
	b.WriteString("</CryptographySuite>\n")
	return b.String(), nil
}
