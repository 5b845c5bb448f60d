package wire

import (
	"runtime"
	"testing"
)

// TestNoAllocationFromLengthFields feeds short inputs whose length and
// count fields claim the most they can, and checks that decoding them
// allocates memory bounded by a small constant, not by what the fields
// claim (the issue: "never an allocation sized by an unchecked length
// field"). Counts that are one octet wide (transforms, selectors) may size
// an allocation, since 255 entries is itself a small bound.
func TestNoAllocationFromLengthFields(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocations; skipped in -short")
	}
	inputs := []struct {
		name  string
		first PayloadType
		in    []byte
	}{
		{"generic_length_65535", PayloadVendorID, []byte{0, 0, 0xff, 0xff, 1}},
		{"proposal_length_65535", PayloadSA, chain(0, []byte{0, 0, 0xff, 0xff, 1, 1, 0xff, 0xff})},
		{"proposal_255_transforms", PayloadSA, chain(0, []byte{0, 0, 0, 8, 1, 1, 0, 0xff})},
		{"transform_length_65535", PayloadSA, chain(0, saBody(0, 1, []byte{0, 0, 0xff, 0xff, 1, 0, 0, 12}))},
		{"attribute_length_65535", PayloadSA, chain(0, saBody(0, 1, xfrm(0, 1, 12, 0, 99, 0xff, 0xff)))},
		{"SPI_size_255", PayloadSA, chain(0, []byte{0, 0, 0, 8, 1, 1, 0xff, 1})},
		{"notify_SPI_255", PayloadNotify, chain(0, []byte{3, 0xff, 0x40, 0x09})},
		{"delete_65535_SPIs_of_255", PayloadDelete, chain(0, []byte{3, 0xff, 0xff, 0xff, 1, 2, 3, 4})},
		{"TS_255_selectors", PayloadTSi, chain(0, []byte{0xff, 0, 0, 0, 7, 0, 0xff, 0xff})},
		{"CP_attribute_65535", PayloadCP, chain(0, []byte{1, 0, 0, 0, 0, 1, 0xff, 0xff})},
		{"EAP_length_65535", PayloadEAP, chain(0, []byte{1, 1, 0xff, 0xff, 1})},
		{"EAP_TLS_length_4G", PayloadEAP, chain(0, []byte{1, 1, 0, 10, 13, 0x80, 0xff, 0xff, 0xff, 0xff})},
		{"MSCHAPv2_length_65535", PayloadEAP, chain(0, []byte{1, 1, 0, 9, 26, 1, 1, 0xff, 0xff})},
		{"AUTH_algid_length_255", PayloadAUTH, chain(0, []byte{14, 0, 0, 0, 0xff, 0x30})},
		{"SKF_total_65535", PayloadSKF, chain(0, []byte{0xff, 0xff, 0xff, 0xff, 1})},
	}
	const limit = 32 << 10
	for _, c := range inputs {
		ParsePayloads(c.first, c.in) // warm up
		var before, after runtime.MemStats
		const n = 50
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := 0; i < n; i++ {
			ParsePayloads(c.first, c.in)
		}
		runtime.ReadMemStats(&after)
		per := (after.TotalAlloc - before.TotalAlloc) / n
		if per > limit {
			t.Errorf("%s: %d-octet input allocates %d octets per decode (limit %d)", c.name, len(c.in), per, limit)
		}
		t.Logf("%s: %d octets allocated per decode", c.name, per)
	}
	// A whole message whose header claims 4 GiB.
	h := Header{MajorVersion: 2, Exchange: IKE_SA_INIT, Length: 0xffffffff}
	b := h.AppendHeader(nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := ParseMessage(b); err == nil {
		t.Fatal("a 4 GiB header length accepted")
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > limit {
		t.Errorf("header length 4 GiB: %d octets allocated", d)
	}
}
