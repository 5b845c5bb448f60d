package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// Vendor describes a recognised Vendor ID (RFC 7296, Section 3.12).
type Vendor struct {
	Name   string // as strongSwan and Wireshark print it
	Family string // the client family it implies: "Windows", "strongSwan", ...
}

type vendorEntry struct {
	data   []byte
	prefix bool // data is a prefix; the rest is a version
	Vendor
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Known vendor IDs. Windows sends the first four in every IKE_SA_INIT
// (../shared/LAB.md; the 2015 Windows capture in the corpus).
var vendorTable = []vendorEntry{
	{mustHex("1e2b516905991c7d7c96fcbfb587e461"), true, Vendor{"MS NT5 ISAKMPOAKLEY", "Windows"}},
	{mustHex("fb1de3cdf341b7ea16b7e5be0855f120"), false, Vendor{"MS-Negotiation Discovery Capable", "Windows"}},
	{mustHex("26244d38eddb61b3172a36e3d0cfb819"), false, Vendor{"Microsoft Vid-Initial-Contact", "Windows"}},
	{mustHex("01528bbbc00696121849ab9a1c5b2a51"), true, Vendor{"Microsoft (unnamed 01528bbb)", "Windows"}},
	{mustHex("214ca4faffa7f32d6748e5303395ae83"), false, Vendor{"MS-MamieExists", "Windows"}},
	{mustHex("882fe56d6fd20dbc2251613b2ebe5beb"), false, Vendor{"strongSwan", "strongSwan"}},
	{mustHex("4048b7d56ebce88525e7de7f00d6c2d3"), true, Vendor{"Cisco Fragmentation", "Cisco"}},
	{[]byte("FLEXVPN-SUPPORTED"), false, Vendor{"FlexVPN Supported", "Cisco"}},
	{[]byte("CISCO-DELETE-REASON"), false, Vendor{"Cisco Delete Reason", "Cisco"}},
	{[]byte("CISCO-DYNAMIC-ROUTE"), false, Vendor{"Cisco Dynamic Route", "Cisco"}},
	{[]byte("CISCO-VPN-REV-02"), false, Vendor{"Cisco VPN Revision 2", "Cisco"}},
	{[]byte("CISCO(COPYRIGHT)"), true, Vendor{"Cisco Copyright", "Cisco"}},
	{mustHex("4a131c81070358455c5728f20e95452f"), false, Vendor{"RFC 3947 NAT-T", ""}},
	{mustHex("afcad71368a1f1c96b8696fc77570100"), false, Vendor{"Dead Peer Detection", ""}},
}

// LookupVendor names a Vendor ID, or returns the zero Vendor.
func LookupVendor(data []byte) Vendor {
	for _, e := range vendorTable {
		switch {
		case !e.prefix && bytes.Equal(data, e.data):
			return e.Vendor
		case e.prefix && bytes.HasPrefix(data, e.data):
			v := e.Vendor
			// Microsoft appends a four-octet version to its IDs.
			if rest := data[len(e.data):]; len(rest) == 4 && e.Family == "Windows" {
				v.Name = fmt.Sprintf("%s v%d", v.Name, binary.BigEndian.Uint32(rest))
			}
			return v
		}
	}
	return Vendor{}
}

// Vendor IDs Windows clients send, for an initiator that imitates them.
var (
	VendorMSNT5v9        = mustHex("1e2b516905991c7d7c96fcbfb587e46100000009")
	VendorMSNegDiscovery = mustHex("fb1de3cdf341b7ea16b7e5be0855f120")
	VendorMSInitContact  = mustHex("26244d38eddb61b3172a36e3d0cfb819")
	VendorMS01528bbbv2   = mustHex("01528bbbc00696121849ab9a1c5b2a5100000002")
)
