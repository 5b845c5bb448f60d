package ike

import "github.com/ikelab/ikelab/internal/jsonw"

// AppendJSON appends a's JSON encoding to b: byte for byte what json.Marshal
// writes (Go 1.26's; see jsonw.Canonical for Go 1.27's one difference), in
// the order and with the tags of Audit's fields. One record is written per
// handshake, and the reflection encoder was a visible share of the
// responder's CPU under load (issue #11). Where encoding/json would fail
// (a time outside the years 0 to 9999), AppendJSON returns b unchanged.
func (a *Audit) AppendJSON(b []byte) []byte {
	if a == nil {
		return append(b, "null"...)
	}
	o := jsonw.BeginObject(b)
	o.Time("time", a.Time)
	o.String("event", a.Event)
	o.String("result", a.Result)
	o.String("peer", a.Peer)
	o.String("local", a.Local)
	o.String("spi_i", a.SPIi)
	o.StringOmitEmpty("spi_r", a.SPIr)

	o.StringsOmitEmpty("vendor_ids", a.VendorIDs)
	o.StringOmitEmpty("client_family", a.ClientFamily)
	o.BoolOmitEmpty("nat_local", a.NATLocal)
	o.BoolOmitEmpty("nat_remote", a.NATRemote)

	o.StringsOmitEmpty("ike_offered", a.IKEOffered)
	o.StringOmitEmpty("ike_chosen", a.IKEChosen)
	o.StringsOmitEmpty("esp_offered", a.ESPOffered)
	o.StringOmitEmpty("esp_chosen", a.ESPChosen)
	o.StringsOmitEmpty("insecure", a.Insecure)
	o.StringOmitEmpty("ke_group", a.KEGroup)
	o.StringOmitEmpty("pfs_group", a.PFSGroup)

	o.StringOmitEmpty("auth_method", a.AuthMethod)
	o.StringOmitEmpty("peer_id", a.PeerID)
	if a.Certificate != nil {
		o.Value("certificate", a.Certificate)
	}

	o.StringsOmitEmpty("assigned_ip", a.AssignedIP)
	o.StringsOmitEmpty("ts_i", a.TSi)
	o.StringsOmitEmpty("ts_r", a.TSr)
	o.StringsOmitEmpty("child_spis", a.ChildSPIs)

	o.StringOmitEmpty("notify", a.Notify)
	o.StringOmitEmpty("reason", a.Reason)
	return o.End()
}
