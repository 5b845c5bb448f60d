package wire

import "fmt"

// NotifyType is the Notify Message Type of a Notify payload (RFC 7296,
// Section 3.10.1; IANA "IKEv2 Notify Message Types"). Values below 16384
// are errors, the rest status types.
type NotifyType uint16

// Error types.
const (
	UNSUPPORTED_CRITICAL_PAYLOAD NotifyType = 1
	INVALID_IKE_SPI              NotifyType = 4
	INVALID_MAJOR_VERSION        NotifyType = 5
	INVALID_SYNTAX               NotifyType = 7
	INVALID_MESSAGE_ID           NotifyType = 9
	INVALID_SPI                  NotifyType = 11
	NO_PROPOSAL_CHOSEN           NotifyType = 14
	INVALID_KE_PAYLOAD           NotifyType = 17
	AUTHENTICATION_FAILED        NotifyType = 24
	SINGLE_PAIR_REQUIRED         NotifyType = 34
	NO_ADDITIONAL_SAS            NotifyType = 35
	INTERNAL_ADDRESS_FAILURE     NotifyType = 36
	FAILED_CP_REQUIRED           NotifyType = 37
	TS_UNACCEPTABLE              NotifyType = 38
	INVALID_SELECTORS            NotifyType = 39
	UNACCEPTABLE_ADDRESSES       NotifyType = 40
	UNEXPECTED_NAT_DETECTED      NotifyType = 41
	USE_ASSIGNED_HoA             NotifyType = 42
	TEMPORARY_FAILURE            NotifyType = 43
	CHILD_SA_NOT_FOUND           NotifyType = 44
	INVALID_GROUP_ID             NotifyType = 45
	AUTHORIZATION_FAILED         NotifyType = 46
	STATE_NOT_FOUND              NotifyType = 47

	// MS_STATUS is Microsoft's private-use notify carrying a Win32 error
	// code in 4 octets; Windows sends it with its own failures.
	MS_STATUS NotifyType = 12345
)

// Status types.
const (
	INITIAL_CONTACT                     NotifyType = 16384
	SET_WINDOW_SIZE                     NotifyType = 16385
	ADDITIONAL_TS_POSSIBLE              NotifyType = 16386
	IPCOMP_SUPPORTED                    NotifyType = 16387
	NAT_DETECTION_SOURCE_IP             NotifyType = 16388
	NAT_DETECTION_DESTINATION_IP        NotifyType = 16389
	COOKIE                              NotifyType = 16390
	USE_TRANSPORT_MODE                  NotifyType = 16391
	HTTP_CERT_LOOKUP_SUPPORTED          NotifyType = 16392
	REKEY_SA                            NotifyType = 16393
	ESP_TFC_PADDING_NOT_SUPPORTED       NotifyType = 16394
	NON_FIRST_FRAGMENTS_ALSO            NotifyType = 16395
	MOBIKE_SUPPORTED                    NotifyType = 16396
	ADDITIONAL_IP4_ADDRESS              NotifyType = 16397
	ADDITIONAL_IP6_ADDRESS              NotifyType = 16398
	NO_ADDITIONAL_ADDRESSES             NotifyType = 16399
	UPDATE_SA_ADDRESSES                 NotifyType = 16400
	COOKIE2                             NotifyType = 16401
	NO_NATS_ALLOWED                     NotifyType = 16402
	AUTH_LIFETIME                       NotifyType = 16403
	MULTIPLE_AUTH_SUPPORTED             NotifyType = 16404
	ANOTHER_AUTH_FOLLOWS                NotifyType = 16405
	REDIRECT_SUPPORTED                  NotifyType = 16406
	REDIRECT                            NotifyType = 16407
	REDIRECTED_FROM                     NotifyType = 16408
	TICKET_LT_OPAQUE                    NotifyType = 16409
	TICKET_REQUEST                      NotifyType = 16410
	TICKET_ACK                          NotifyType = 16411
	TICKET_NACK                         NotifyType = 16412
	TICKET_OPAQUE                       NotifyType = 16413
	LINK_ID                             NotifyType = 16414
	USE_WESP_MODE                       NotifyType = 16415
	ROHC_SUPPORTED                      NotifyType = 16416
	EAP_ONLY_AUTHENTICATION             NotifyType = 16417
	CHILDLESS_IKEV2_SUPPORTED           NotifyType = 16418
	QUICK_CRASH_DETECTION               NotifyType = 16419
	IKEV2_MESSAGE_ID_SYNC_SUPPORTED     NotifyType = 16420
	IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED NotifyType = 16421
	IKEV2_MESSAGE_ID_SYNC               NotifyType = 16422
	IPSEC_REPLAY_COUNTER_SYNC           NotifyType = 16423
	SECURE_PASSWORD_METHODS             NotifyType = 16424
	PSK_PERSIST                         NotifyType = 16425
	PSK_CONFIRM                         NotifyType = 16426
	ERX_SUPPORTED                       NotifyType = 16427
	IFOM_CAPABILITY                     NotifyType = 16428
	SENDER_REQUEST_ID                   NotifyType = 16429
	IKEV2_FRAGMENTATION_SUPPORTED       NotifyType = 16430
	SIGNATURE_HASH_ALGORITHMS           NotifyType = 16431
	CLONE_IKE_SA_SUPPORTED              NotifyType = 16432
	CLONE_IKE_SA                        NotifyType = 16433
	PUZZLE                              NotifyType = 16434
	USE_PPK                             NotifyType = 16435
	PPK_IDENTITY                        NotifyType = 16436
	NO_PPK_AUTH                         NotifyType = 16437
	INTERMEDIATE_EXCHANGE_SUPPORTED     NotifyType = 16438
	IP4_ALLOWED                         NotifyType = 16439
	IP6_ALLOWED                         NotifyType = 16440
	ADDITIONAL_KEY_EXCHANGE             NotifyType = 16441
	USE_AGGFRAG                         NotifyType = 16442
	SUPPORTED_AUTH_METHODS              NotifyType = 16443
	SA_RESOURCE_INFO                    NotifyType = 16444
	USE_PPK_INT                         NotifyType = 16445
	PPK_IDENTITY_KEY                    NotifyType = 16446
)

type notifyName struct{ long, short string }

// Short names follow strongSwan's log spelling (N(NATD_S_IP) and so on).
var notifyNames = map[NotifyType]notifyName{
	UNSUPPORTED_CRITICAL_PAYLOAD:        {"UNSUPPORTED_CRITICAL_PAYLOAD", "CRIT"},
	INVALID_IKE_SPI:                     {"INVALID_IKE_SPI", "INVAL_IKE_SPI"},
	INVALID_MAJOR_VERSION:               {"INVALID_MAJOR_VERSION", "INVAL_MAJOR"},
	INVALID_SYNTAX:                      {"INVALID_SYNTAX", "INVAL_SYN"},
	INVALID_MESSAGE_ID:                  {"INVALID_MESSAGE_ID", "INVAL_MID"},
	INVALID_SPI:                         {"INVALID_SPI", "INVAL_SPI"},
	NO_PROPOSAL_CHOSEN:                  {"NO_PROPOSAL_CHOSEN", "NO_PROP"},
	INVALID_KE_PAYLOAD:                  {"INVALID_KE_PAYLOAD", "INVAL_KE"},
	AUTHENTICATION_FAILED:               {"AUTHENTICATION_FAILED", "AUTH_FAILED"},
	SINGLE_PAIR_REQUIRED:                {"SINGLE_PAIR_REQUIRED", "SINGLE_PAIR"},
	NO_ADDITIONAL_SAS:                   {"NO_ADDITIONAL_SAS", "NO_ADD_SAS"},
	INTERNAL_ADDRESS_FAILURE:            {"INTERNAL_ADDRESS_FAILURE", "INT_ADDR_FAIL"},
	FAILED_CP_REQUIRED:                  {"FAILED_CP_REQUIRED", "FAIL_CP_REQ"},
	TS_UNACCEPTABLE:                     {"TS_UNACCEPTABLE", "TS_UNACCEPT"},
	INVALID_SELECTORS:                   {"INVALID_SELECTORS", "INVAL_SEL"},
	UNACCEPTABLE_ADDRESSES:              {"UNACCEPTABLE_ADDRESSES", "UNACCEPT_ADDR"},
	UNEXPECTED_NAT_DETECTED:             {"UNEXPECTED_NAT_DETECTED", "UNEXPECT_NAT"},
	USE_ASSIGNED_HoA:                    {"USE_ASSIGNED_HoA", "USE_ASSIGNED_HoA"},
	TEMPORARY_FAILURE:                   {"TEMPORARY_FAILURE", "TEMP_FAIL"},
	CHILD_SA_NOT_FOUND:                  {"CHILD_SA_NOT_FOUND", "CHILD_SA_NOT_FOUND"},
	INVALID_GROUP_ID:                    {"INVALID_GROUP_ID", "INVAL_GROUP_ID"},
	AUTHORIZATION_FAILED:                {"AUTHORIZATION_FAILED", "AUTHZ_FAILED"},
	STATE_NOT_FOUND:                     {"STATE_NOT_FOUND", "STATE_NOT_FOUND"},
	MS_STATUS:                           {"MS_STATUS", "MS_STATUS"},
	INITIAL_CONTACT:                     {"INITIAL_CONTACT", "INIT_CONTACT"},
	SET_WINDOW_SIZE:                     {"SET_WINDOW_SIZE", "SET_WINSIZE"},
	ADDITIONAL_TS_POSSIBLE:              {"ADDITIONAL_TS_POSSIBLE", "ADD_TS_POSS"},
	IPCOMP_SUPPORTED:                    {"IPCOMP_SUPPORTED", "IPCOMP_SUP"},
	NAT_DETECTION_SOURCE_IP:             {"NAT_DETECTION_SOURCE_IP", "NATD_S_IP"},
	NAT_DETECTION_DESTINATION_IP:        {"NAT_DETECTION_DESTINATION_IP", "NATD_D_IP"},
	COOKIE:                              {"COOKIE", "COOKIE"},
	USE_TRANSPORT_MODE:                  {"USE_TRANSPORT_MODE", "USE_TRANSP"},
	HTTP_CERT_LOOKUP_SUPPORTED:          {"HTTP_CERT_LOOKUP_SUPPORTED", "HTTP_CERT_LOOK"},
	REKEY_SA:                            {"REKEY_SA", "REKEY_SA"},
	ESP_TFC_PADDING_NOT_SUPPORTED:       {"ESP_TFC_PADDING_NOT_SUPPORTED", "ESP_TFC_PAD_N"},
	NON_FIRST_FRAGMENTS_ALSO:            {"NON_FIRST_FRAGMENTS_ALSO", "NON_FIRST_FRAG"},
	MOBIKE_SUPPORTED:                    {"MOBIKE_SUPPORTED", "MOBIKE_SUP"},
	ADDITIONAL_IP4_ADDRESS:              {"ADDITIONAL_IP4_ADDRESS", "ADD_4_ADDR"},
	ADDITIONAL_IP6_ADDRESS:              {"ADDITIONAL_IP6_ADDRESS", "ADD_6_ADDR"},
	NO_ADDITIONAL_ADDRESSES:             {"NO_ADDITIONAL_ADDRESSES", "NO_ADD_ADDR"},
	UPDATE_SA_ADDRESSES:                 {"UPDATE_SA_ADDRESSES", "UPD_SA_ADDR"},
	COOKIE2:                             {"COOKIE2", "COOKIE2"},
	NO_NATS_ALLOWED:                     {"NO_NATS_ALLOWED", "NO_NATS"},
	AUTH_LIFETIME:                       {"AUTH_LIFETIME", "AUTH_LFT"},
	MULTIPLE_AUTH_SUPPORTED:             {"MULTIPLE_AUTH_SUPPORTED", "MULT_AUTH"},
	ANOTHER_AUTH_FOLLOWS:                {"ANOTHER_AUTH_FOLLOWS", "AUTH_FOLLOWS"},
	REDIRECT_SUPPORTED:                  {"REDIRECT_SUPPORTED", "REDIR_SUP"},
	REDIRECT:                            {"REDIRECT", "REDIR"},
	REDIRECTED_FROM:                     {"REDIRECTED_FROM", "REDIR_FROM"},
	TICKET_LT_OPAQUE:                    {"TICKET_LT_OPAQUE", "TKT_LT_OPAK"},
	TICKET_REQUEST:                      {"TICKET_REQUEST", "TKT_REQ"},
	TICKET_ACK:                          {"TICKET_ACK", "TKT_ACK"},
	TICKET_NACK:                         {"TICKET_NACK", "TKT_NACK"},
	TICKET_OPAQUE:                       {"TICKET_OPAQUE", "TKT_OPAK"},
	LINK_ID:                             {"LINK_ID", "LINK_ID"},
	USE_WESP_MODE:                       {"USE_WESP_MODE", "WESP_MODE"},
	ROHC_SUPPORTED:                      {"ROHC_SUPPORTED", "ROHC_SUP"},
	EAP_ONLY_AUTHENTICATION:             {"EAP_ONLY_AUTHENTICATION", "EAP_ONLY"},
	CHILDLESS_IKEV2_SUPPORTED:           {"CHILDLESS_IKEV2_SUPPORTED", "CHDLESS_SUP"},
	QUICK_CRASH_DETECTION:               {"QUICK_CRASH_DETECTION", "CRASH_DET"},
	IKEV2_MESSAGE_ID_SYNC_SUPPORTED:     {"IKEV2_MESSAGE_ID_SYNC_SUPPORTED", "MSG_ID_SYN_SUP"},
	IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED: {"IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED", "RPL_CTR_SYN_SUP"},
	IKEV2_MESSAGE_ID_SYNC:               {"IKEV2_MESSAGE_ID_SYNC", "MSG_ID_SYN"},
	IPSEC_REPLAY_COUNTER_SYNC:           {"IPSEC_REPLAY_COUNTER_SYNC", "RPL_CTR_SYN"},
	SECURE_PASSWORD_METHODS:             {"SECURE_PASSWORD_METHODS", "SEC_PASSWD"},
	PSK_PERSIST:                         {"PSK_PERSIST", "PSK_PST"},
	PSK_CONFIRM:                         {"PSK_CONFIRM", "PSK_CFM"},
	ERX_SUPPORTED:                       {"ERX_SUPPORTED", "ERX_SUP"},
	IFOM_CAPABILITY:                     {"IFOM_CAPABILITY", "IFOM_CAP"},
	SENDER_REQUEST_ID:                   {"SENDER_REQUEST_ID", "SENDER_REQ_ID"},
	IKEV2_FRAGMENTATION_SUPPORTED:       {"IKEV2_FRAGMENTATION_SUPPORTED", "FRAG_SUP"},
	SIGNATURE_HASH_ALGORITHMS:           {"SIGNATURE_HASH_ALGORITHMS", "HASH_ALG"},
	CLONE_IKE_SA_SUPPORTED:              {"CLONE_IKE_SA_SUPPORTED", "CLONE_SUP"},
	CLONE_IKE_SA:                        {"CLONE_IKE_SA", "CLONE"},
	PUZZLE:                              {"PUZZLE", "PUZZLE"},
	USE_PPK:                             {"USE_PPK", "USE_PPK"},
	PPK_IDENTITY:                        {"PPK_IDENTITY", "PPK_ID"},
	NO_PPK_AUTH:                         {"NO_PPK_AUTH", "NO_PPK"},
	INTERMEDIATE_EXCHANGE_SUPPORTED:     {"INTERMEDIATE_EXCHANGE_SUPPORTED", "IKE_INT_SUP"},
	IP4_ALLOWED:                         {"IP4_ALLOWED", "IP4_ALLOWED"},
	IP6_ALLOWED:                         {"IP6_ALLOWED", "IP6_ALLOWED"},
	ADDITIONAL_KEY_EXCHANGE:             {"ADDITIONAL_KEY_EXCHANGE", "ADD_KE"},
	USE_AGGFRAG:                         {"USE_AGGFRAG", "USE_AGGFRAG"},
	SUPPORTED_AUTH_METHODS:              {"SUPPORTED_AUTH_METHODS", "AUTH_METHODS"},
	SA_RESOURCE_INFO:                    {"SA_RESOURCE_INFO", "SA_RES_INFO"},
	USE_PPK_INT:                         {"USE_PPK_INT", "USE_PPK_INT"},
	PPK_IDENTITY_KEY:                    {"PPK_IDENTITY_KEY", "PPK_ID_KEY"},
}

// String returns the IANA name, or a numeric name for unassigned values.
func (n NotifyType) String() string {
	if nn, ok := notifyNames[n]; ok {
		return nn.long
	}
	return fmt.Sprintf("NOTIFY_%d", uint16(n))
}

// Short returns the abbreviation strongSwan logs inside N(...).
func (n NotifyType) Short() string {
	if nn, ok := notifyNames[n]; ok {
		return nn.short
	}
	return fmt.Sprintf("%d", uint16(n))
}

// IsError reports whether n is an error type (RFC 7296, Section 3.10.1:
// types below 16384).
func (n NotifyType) IsError() bool { return n < 16384 }
