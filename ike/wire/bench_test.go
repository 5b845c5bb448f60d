package wire

import "testing"

// Benchmarks for the two messages a Windows client sends first: an
// IKE_SA_INIT with 12 proposals, KE, nonce, NAT-D and four vendor IDs, and
// a certificate IKE_AUTH sent as 580-octet RFC 7383 fragments. Run with
//
//	go test -run '^$' -bench . -benchmem ./ike/wire/

func BenchmarkDecodeIKESAInit(b *testing.B) {
	raw := mustMarshal(b, windowsSAInit())
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessage(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeIKESAInit(b *testing.B) {
	m := windowsSAInit()
	n := len(mustMarshal(b, m))
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeFragmentedIKEAuth(b *testing.B) {
	inner := windowsAuthInner()
	frags, err := MarshalFragments(authHeader(), inner, copySealer{}, 580)
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, f := range frags {
		total += len(f)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalFragments(authHeader(), inner, copySealer{}, 580); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(frags)), "fragments")
}

func BenchmarkDecodeFragmentedIKEAuth(b *testing.B) {
	frags, err := MarshalFragments(authHeader(), windowsAuthInner(), copySealer{}, 580)
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, f := range frags {
		total += len(f)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	var o copySealer
	for b.Loop() {
		var first PayloadType
		plain := make([]byte, 0, total)
		for i, raw := range frags {
			m, err := ParseMessage(raw)
			if err != nil {
				b.Fatal(err)
			}
			f := m.Fragment()
			if i == 0 {
				first = f.NextPayload
			}
			p, err := o.Open(f.AssociatedData(), f.Body)
			if err != nil {
				b.Fatal(err)
			}
			plain = append(plain, p...)
		}
		ps, err := ParsePayloads(first, plain)
		if err != nil || len(ps) != 9 {
			b.Fatalf("%d payloads: %v", len(ps), err)
		}
	}
}
