package ike

import (
	"io"
	"sync"
	"time"

	"github.com/ikelab/ikelab/ike/trust"
)

// Audit is the structured record of one connection attempt, written when
// the attempt ends (established or refused) and again when the IKE SA ends.
// It answers the admin's questions: what did the client offer, what was
// chosen or why was it refused, and did its certificate pass.
type Audit struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event"`  // "ike_sa_init", "established", "refused", "deleted", ...
	Result string    `json:"result"` // "ok" or "failed"
	Peer   string    `json:"peer"`
	Local  string    `json:"local"`
	SPIi   string    `json:"spi_i"`
	SPIr   string    `json:"spi_r,omitempty"`

	VendorIDs    []string `json:"vendor_ids,omitempty"`
	ClientFamily string   `json:"client_family,omitempty"`
	NATLocal     bool     `json:"nat_local,omitempty"`
	NATRemote    bool     `json:"nat_remote,omitempty"`

	IKEOffered []string `json:"ike_offered,omitempty"`
	IKEChosen  string   `json:"ike_chosen,omitempty"`
	ESPOffered []string `json:"esp_offered,omitempty"`
	ESPChosen  string   `json:"esp_chosen,omitempty"`
	Insecure   []string `json:"insecure,omitempty"` // weak algorithms in use
	KEGroup    string   `json:"ke_group,omitempty"`
	// PFSGroup is the key exchange of the last child SA made with
	// CREATE_CHILD_SA (none in IKE_AUTH).
	PFSGroup string `json:"pfs_group,omitempty"`

	AuthMethod  string          `json:"auth_method,omitempty"`
	PeerID      string          `json:"peer_id,omitempty"`
	Certificate *trust.Decision `json:"certificate,omitempty"`

	AssignedIP []string `json:"assigned_ip,omitempty"`
	TSi        []string `json:"ts_i,omitempty"`
	TSr        []string `json:"ts_r,omitempty"`
	ChildSPIs  []string `json:"child_spis,omitempty"`

	// Notify is the error notification sent or received; Reason says why.
	Notify string `json:"notify,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// texts interns the texts of audit records that repeat from SA to SA:
// the proposals offered and chosen, the local address, the responder's
// traffic selectors. Each SA keeps its audit record for the records of its
// later events, and the same proposal kept as 10,000 strings is 10,000
// objects for the garbage collector to mark in every cycle; interned, it is
// one. The table holds at most maxTexts texts of at most maxTextLen
// octets (512 KiB), so a peer that offers new proposals every time cannot
// grow it: past that, texts are copied as before.
type texts struct {
	mu sync.Mutex
	m  map[string]string
}

const (
	maxTexts   = 4096
	maxTextLen = 128 // a proposal of five transforms is about 60
)

// intern returns b as a string, shared with earlier calls for the same
// bytes. b is not kept.
func (t *texts) intern(b []byte) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(t.m) < maxTexts && len(b) <= maxTextLen {
		if t.m == nil {
			t.m = make(map[string]string)
		}
		t.m[s] = s
	}
	return s
}

// JSONAuditor returns an Audit sink that writes one JSON object per line,
// each line with one Write, as json.Encoder does (see Audit.AppendJSON). It
// is safe for concurrent use.
func JSONAuditor(w io.Writer) func(*Audit) {
	var (
		mu  sync.Mutex
		buf []byte // reused, so a record costs no allocation once it is big enough
	)
	return func(a *Audit) {
		mu.Lock()
		defer mu.Unlock()
		buf = a.AppendJSON(buf[:0])
		if len(buf) == 0 {
			// A record encoding/json cannot encode: json.Encoder wrote
			// nothing for it either.
			return
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
}
