package wire

import (
	"testing"
)

// TestSummaryForms pins the strongSwan-style summaries that log lines are
// built from, including the numeric forms of unassigned values, and that
// the appending and the string forms agree.
func TestSummaryForms(t *testing.T) {
	aes := NewTransform(TransformENCR, ENCR_AES_CBC, 128)
	prop := Proposal{Protocol: ProtoIKE, Transforms: []Transform{
		{Type: TransformKE, ID: MODP_2048}, {Type: TransformPRF, ID: PRF_HMAC_SHA2_256},
		{Type: TransformType(13), ID: 7}, aes, {Type: TransformINTEG, ID: AUTH_HMAC_SHA2_256_128},
	}}
	if got, want := prop.String(), "IKE:AES_CBC_128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048/"+TransformName(TransformType(13), 7); got != want {
		t.Errorf("Proposal.String = %q, want %q", got, want)
	}
	if got := (&Proposal{Protocol: ProtoESP}).String(); got != "ESP:" {
		t.Errorf("empty proposal = %q", got)
	}
	if got := aes.Name(); got != "AES_CBC_128" {
		t.Errorf("Transform.Name = %q", got)
	}
	if got := (&Transform{Type: TransformKE, ID: ECP_256}).Name(); got != "ECP_256" {
		t.Errorf("Transform.Name = %q", got)
	}
	if got := (SPI{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}).String(); got != "0123456789abcdef" {
		t.Errorf("SPI.String = %q", got)
	}

	h := &Header{Exchange: IKE_AUTH, Flags: FlagResponse, MessageID: 4294967295}
	cases := []struct {
		h    *Header
		ps   []Payload
		want string
	}{
		{&Header{Exchange: IKE_SA_INIT}, nil, "IKE_SA_INIT request 0 [ ]"},
		{&Header{Exchange: ExchangeType(99), MessageID: 7}, []Payload{&Nonce{}}, "EXCHANGE_TYPE_99 request 7 [ No ]"},
		{h, []Payload{
			&ID{Responder: true, IDType: ID_FQDN}, &Auth{}, &CP{CFGType: CFG_REPLY, Attributes: []CPAttribute{{Type: INTERNAL_IP4_ADDRESS}, {Type: CPAttrType(999)}}},
			&CP{CFGType: CFGType(9)}, &Notify{NotifyType: NotifyType(60000)}, &Notify{NotifyType: AUTH_LIFETIME},
		}, "IKE_AUTH response 4294967295 [ IDr AUTH CPRP(ADDR (999)) CP9() N(60000) N(AUTH_LFT) ]"},
	}
	for _, c := range cases {
		if got := SummaryLine(c.h, c.ps); got != c.want {
			t.Errorf("SummaryLine = %q, want %q", got, c.want)
		}
		if got := string(AppendSummaryLine([]byte("x "), c.h, c.ps)); got != "x "+c.want {
			t.Errorf("AppendSummaryLine = %q", got)
		}
	}
	if got := Summarize(cases[2].ps); got != "IDr AUTH CPRP(ADDR (999)) CP9() N(60000) N(AUTH_LFT)" {
		t.Errorf("Summarize = %q", got)
	}
}
