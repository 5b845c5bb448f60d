package xfrm

import (
	"fmt"

	"github.com/ikelab/ikelab/ike/wire"
)

// Suite is an ESP transform combination to probe for.
type Suite struct {
	Encr    wire.TransformID
	KeyBits int
	Integ   wire.TransformID
}

func (s Suite) String() string {
	if s.Integ == wire.AUTH_NONE {
		return fmt.Sprintf("%s-%d", wire.TransformName(wire.TransformENCR, s.Encr), s.KeyBits)
	}
	return fmt.Sprintf("%s-%d/%s", wire.TransformName(wire.TransformENCR, s.Encr), s.KeyBits, wire.TransformName(wire.TransformINTEG, s.Integ))
}

// DefaultSuites are what Probe checks without arguments: the ESP suites of
// the recommended policy, AES-CBC-128 with HMAC-SHA2-256-128 and
// AES-GCM-16 with a 128-bit key.
var DefaultSuites = []Suite{
	{wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128},
	{wire.ENCR_AES_GCM_16, 128, wire.AUTH_NONE},
}
