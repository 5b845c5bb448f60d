package wire

import "fmt"

// ExchangeType is the Exchange Type field of the IKE header (RFC 7296,
// Section 3.1; IANA "IKEv2 Exchange Types").
type ExchangeType uint8

const (
	IKE_SA_INIT        ExchangeType = 34
	IKE_AUTH           ExchangeType = 35
	CREATE_CHILD_SA    ExchangeType = 36
	INFORMATIONAL      ExchangeType = 37
	IKE_SESSION_RESUME ExchangeType = 38 // RFC 5723
	GSA_AUTH           ExchangeType = 39 // RFC 9838 (G-IKEv2)
	GSA_REGISTRATION   ExchangeType = 40
	GSA_REKEY          ExchangeType = 41
	IKE_INTERMEDIATE   ExchangeType = 43 // RFC 9242
	IKE_FOLLOWUP_KE    ExchangeType = 44 // RFC 9370
	GSA_INBAND_REKEY   ExchangeType = 45
)

var exchangeNames = map[ExchangeType]string{
	IKE_SA_INIT: "IKE_SA_INIT", IKE_AUTH: "IKE_AUTH", CREATE_CHILD_SA: "CREATE_CHILD_SA",
	INFORMATIONAL: "INFORMATIONAL", IKE_SESSION_RESUME: "IKE_SESSION_RESUME",
	GSA_AUTH: "GSA_AUTH", GSA_REGISTRATION: "GSA_REGISTRATION", GSA_REKEY: "GSA_REKEY",
	IKE_INTERMEDIATE: "IKE_INTERMEDIATE", IKE_FOLLOWUP_KE: "IKE_FOLLOWUP_KE",
	GSA_INBAND_REKEY: "GSA_INBAND_REKEY",
}

func (e ExchangeType) String() string {
	if n, ok := exchangeNames[e]; ok {
		return n
	}
	return fmt.Sprintf("EXCHANGE_TYPE_%d", uint8(e))
}

// PayloadType is a Next Payload value (RFC 7296, Section 3.2; IANA "IKEv2
// Payload Types").
type PayloadType uint8

const (
	PayloadNone     PayloadType = 0
	PayloadSA       PayloadType = 33
	PayloadKE       PayloadType = 34
	PayloadIDi      PayloadType = 35
	PayloadIDr      PayloadType = 36
	PayloadCERT     PayloadType = 37
	PayloadCERTREQ  PayloadType = 38
	PayloadAUTH     PayloadType = 39
	PayloadNonce    PayloadType = 40
	PayloadNotify   PayloadType = 41
	PayloadDelete   PayloadType = 42
	PayloadVendorID PayloadType = 43
	PayloadTSi      PayloadType = 44
	PayloadTSr      PayloadType = 45
	PayloadSK       PayloadType = 46
	PayloadCP       PayloadType = 47
	PayloadEAP      PayloadType = 48
	PayloadGSPM     PayloadType = 49 // RFC 6467
	PayloadIDg      PayloadType = 50 // G-IKEv2
	PayloadGSA      PayloadType = 51
	PayloadKD       PayloadType = 52
	PayloadSKF      PayloadType = 53 // RFC 7383
	PayloadPS       PayloadType = 54 // RFC 8019 puzzle solution
)

// payloadNames are strongSwan's short names, used in message summaries.
var payloadNames = map[PayloadType]string{
	PayloadNone: "NONE", PayloadSA: "SA", PayloadKE: "KE", PayloadIDi: "IDi", PayloadIDr: "IDr",
	PayloadCERT: "CERT", PayloadCERTREQ: "CERTREQ", PayloadAUTH: "AUTH", PayloadNonce: "No",
	PayloadNotify: "N", PayloadDelete: "D", PayloadVendorID: "V", PayloadTSi: "TSi",
	PayloadTSr: "TSr", PayloadSK: "E", PayloadCP: "CP", PayloadEAP: "EAP", PayloadGSPM: "GSPM",
	PayloadIDg: "IDg", PayloadGSA: "GSA", PayloadKD: "KD", PayloadSKF: "EF", PayloadPS: "PS",
}

func (p PayloadType) String() string {
	if n, ok := payloadNames[p]; ok {
		return n
	}
	return fmt.Sprintf("PAYLOAD_%d", uint8(p))
}

// ProtocolID identifies the security protocol of a proposal, a notification
// or a delete (RFC 7296, Section 3.3.1).
type ProtocolID uint8

const (
	ProtoNone ProtocolID = 0
	ProtoIKE  ProtocolID = 1
	ProtoAH   ProtocolID = 2
	ProtoESP  ProtocolID = 3
)

func (p ProtocolID) String() string {
	switch p {
	case ProtoNone:
		return "NONE"
	case ProtoIKE:
		return "IKE"
	case ProtoAH:
		return "AH"
	case ProtoESP:
		return "ESP"
	}
	return fmt.Sprintf("PROTO_%d", uint8(p))
}
