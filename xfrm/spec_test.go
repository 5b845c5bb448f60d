package xfrm

import (
	"bytes"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ikelab/ikelab/crypto"
	"github.com/ikelab/ikelab/ike/wire"
	"github.com/ikelab/ikelab/sa"
)

func key(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }

// roadWarrior is a child SA as the engine hands it over for a client with
// virtual IP 10.99.200.7 behind a NAT, reaching 10.99.1.0/24.
func roadWarrior(encr wire.TransformID, bits int, integ wire.TransformID) *sa.Child {
	encLen, integLen, err := crypto.ESPKeyLengths(encr, bits, integ)
	if err != nil {
		panic(err)
	}
	return &sa.Child{
		ReqID: 7, Mode: sa.Tunnel,
		Local:  netip.MustParseAddrPort("192.0.2.2:4500"),
		Remote: netip.MustParseAddrPort("198.51.100.9:40123"),
		Encap:  true, SPIIn: 0xc1a0c1a0, SPIOut: 0x0badcafe,
		Encr: encr, EncrKeyBits: bits, Integ: integ,
		EncKeyIn: key(encLen, 1), EncKeyOut: key(encLen, 2), IntegKeyIn: key(integLen, 3), IntegKeyOut: key(integLen, 4),
		LocalTS:  []wire.Selector{ts4("10.99.1.0", "10.99.1.255", 0, 0, 0xffff)},
		RemoteTS: []wire.Selector{ts4("10.99.200.7", "10.99.200.7", 0, 0, 0xffff)},
		HardLife: time.Hour, HardBytes: 1 << 30,
	}
}

func defaultOptions(t *testing.T) Options {
	o := Options{}
	require.NoError(t, o.setDefaults())
	return o
}

func TestStatesAESCBCWithNATT(t *testing.T) {
	o := defaultOptions(t)
	c := roadWarrior(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128)
	in, out, err := o.states(c, 0x1ce00001)
	require.NoError(t, err)
	// RFC 3948: ESP in UDP between the ports the NAT mapped; in from
	// the peer's port to ours, out the other way.
	assert.Equal(t, "src 198.51.100.9 dst 192.0.2.2 proto esp spi 0xc1a0c1a0 reqid 484442113 mode tunnel replay-window 32"+
		" enc 'cbc(aes)' KEY auth-trunc 'hmac(sha256)' KEY 128 encap espinudp 40123 4500 0.0.0.0"+
		" time-soft 3240 time-hard 3600 byte-soft 966367641 byte-hard 1073741824", in.String())
	assert.Equal(t, "src 192.0.2.2 dst 198.51.100.9 proto esp spi 0x0badcafe reqid 484442113 mode tunnel replay-window 0"+
		" enc 'cbc(aes)' KEY auth-trunc 'hmac(sha256)' KEY 128 encap espinudp 4500 40123 0.0.0.0"+
		" time-soft 3240 time-hard 3600 byte-soft 966367641 byte-hard 1073741824", out.String())
	// Each direction its own keys (RFC 7296, Section 2.17).
	assert.Equal(t, c.EncKeyIn, in.Crypt.Key)
	assert.Equal(t, c.IntegKeyIn, in.Auth.Key)
	assert.Equal(t, c.EncKeyOut, out.Crypt.Key)
	assert.Equal(t, c.IntegKeyOut, out.Auth.Key)
	assert.Nil(t, in.AEAD)
	assert.True(t, in.Inbound)
	assert.False(t, out.Inbound)
}

func TestStatesAESGCMTransportESN(t *testing.T) {
	o := Options{ReplayWindow: 128}
	require.NoError(t, o.setDefaults())
	c := roadWarrior(wire.ENCR_AES_GCM_16, 128, wire.AUTH_NONE)
	c.Mode, c.Encap, c.ESN = sa.Transport, false, true
	c.HardLife, c.HardBytes, c.SoftLife = 0, 0, 0
	in, out, err := o.states(c, 0x1ce00002)
	require.NoError(t, err)
	// RFC 4106: 16 octets of key and 4 of salt, a 16-octet ICV.
	assert.Equal(t, "src 198.51.100.9 dst 192.0.2.2 proto esp spi 0xc1a0c1a0 reqid 484442114 mode transport flag esn replay-window 128"+
		" aead 'rfc4106(gcm(aes))' KEY 128", in.String())
	assert.Len(t, in.AEAD.Key, 20)
	// The ESN replay state exists in both directions.
	assert.Equal(t, uint32(128), out.ReplayWindow)
	assert.Nil(t, in.Crypt)
	assert.Nil(t, in.Auth)
	assert.Nil(t, in.Encap)
}

func TestStatesRefuseBrokenChildren(t *testing.T) {
	o := defaultOptions(t)
	for _, tc := range []struct {
		name   string
		modify func(c *sa.Child)
		want   string
	}{
		{"ShortKey", func(c *sa.Child) { c.EncKeyOut = c.EncKeyOut[:15] }, "key of 15 octets, want 16"},
		{"ShortIntegKey", func(c *sa.Child) { c.IntegKeyIn = nil }, "key of 0 octets, want 32"},
		{"ReservedSPI", func(c *sa.Child) { c.SPIOut = 255 }, "reserved"},
		{"MixedFamilies", func(c *sa.Child) { c.Remote = netip.MustParseAddrPort("[2001:db8::9]:500") }, "not of one family"},
		{"NoIntegrity", func(c *sa.Child) { c.Integ = wire.AUTH_NONE }, "needs an integrity transform"},
		{"NATTWithoutPorts", func(c *sa.Child) { c.Remote = netip.AddrPortFrom(c.Remote.Addr(), 0) }, "without UDP ports"},
		{"NULLEncryption", func(c *sa.Child) { c.Encr = wire.ENCR_NULL }, "ESP encryption"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := roadWarrior(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128)
			tc.modify(c)
			_, _, err := o.states(c, 1)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	// A cipher the kernel table lacks is refused with the crypto error.
	c := roadWarrior(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128)
	c.Encr = wire.ENCR_CAST
	_, _, err := o.states(c, 1)
	assert.True(t, errors.Is(err, crypto.ErrUnsupported), "%v", err)
}

func TestLifetimes(t *testing.T) {
	o := defaultOptions(t)
	c := &sa.Child{HardLife: 8 * time.Hour}
	assert.Equal(t, lifetime{SoftTime: 7*time.Hour + 12*time.Minute, HardTime: 8 * time.Hour}, o.lifetime(c))
	c = &sa.Child{HardLife: 10 * time.Second, SoftLife: 4 * time.Second, HardBytes: 1000}
	assert.Equal(t, lifetime{SoftTime: 4 * time.Second, HardTime: 10 * time.Second, SoftBytes: 900, HardBytes: 1000}, o.lifetime(c))
	// A soft lifetime past the hard one is capped.
	c = &sa.Child{HardLife: 10 * time.Second, SoftLife: time.Minute}
	assert.Equal(t, 10*time.Second, o.lifetime(c).SoftTime)
	assert.Equal(t, lifetime{}, o.lifetime(&sa.Child{}))
}

func TestPoliciesTunnelAndTransport(t *testing.T) {
	c := roadWarrior(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128)
	ps, err := policies(c, 42)
	require.NoError(t, err)
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	// Priority: (200000 - 24 - 32) << 2, +2 for no ports, +1 for no protocol.
	assert.Equal(t, []string{
		"src 10.99.1.0/24 dst 10.99.200.7/32 dir out priority 799779 tmpl src 192.0.2.2 dst 198.51.100.9 proto esp reqid 42 mode tunnel",
		"src 10.99.200.7/32 dst 10.99.1.0/24 dir in priority 799779 tmpl src 198.51.100.9 dst 192.0.2.2 proto esp reqid 42 mode tunnel",
		"src 10.99.200.7/32 dst 10.99.1.0/24 dir fwd priority 799779 tmpl src 198.51.100.9 dst 192.0.2.2 proto esp reqid 42 mode tunnel",
	}, got)

	// Transport mode protects only the hosts themselves: nothing to forward.
	c.Mode = sa.Transport
	ps, err = policies(c, 42)
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, dirOut, ps[0].Dir)
	assert.Equal(t, dirIn, ps[1].Dir)
	assert.Equal(t, sa.Transport, ps[1].Mode)
}

func TestPriorityPrefersSpecificSelectors(t *testing.T) {
	wide := selector{Src: side{Prefix: netip.MustParsePrefix("0.0.0.0/0")}, Dst: side{Prefix: netip.MustParsePrefix("10.0.0.7/32")}}
	narrow := selector{Src: side{Prefix: netip.MustParsePrefix("10.1.0.0/16")}, Dst: side{Prefix: netip.MustParsePrefix("10.0.0.7/32")}}
	port := narrow
	port.Proto, port.Dst.Port, port.Dst.Mask = 6, 443, 0xffff
	proto := narrow
	proto.Proto = 6
	assert.Less(t, priority(narrow), priority(wide))
	assert.Less(t, priority(proto), priority(narrow))
	assert.Less(t, priority(port), priority(proto))
}

func TestOptionsDefaultsAndOwnership(t *testing.T) {
	o := defaultOptions(t)
	assert.True(t, o.owns(DefaultReqIDBase))
	assert.True(t, o.owns(DefaultReqIDBase+DefaultReqIDCount-1))
	assert.False(t, o.owns(DefaultReqIDBase+DefaultReqIDCount))
	assert.False(t, o.owns(1), "strongSwan's reqids are not ours")
	bad := Options{ReqIDBase: 0xffffff00, ReqIDCount: 0x1000}
	assert.Error(t, bad.setDefaults())
	bad = Options{ReplayWindow: 1 << 20}
	assert.Error(t, bad.setDefaults())
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": Auto, "auto": Auto, "off": Off, "Required": Required} {
		m, err := ParseMode(in)
		require.NoError(t, err)
		assert.Equal(t, want, m)
	}
	_, err := ParseMode("yes")
	assert.ErrorContains(t, err, `unknown mode "yes"`)
	assert.Equal(t, "required", Required.String())
}

func TestStateErrorsNameMissingSupport(t *testing.T) {
	o := defaultOptions(t)
	cbc, _, err := o.states(roadWarrior(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128), 1)
	require.NoError(t, err)
	gcm, _, err := o.states(roadWarrior(wire.ENCR_AES_GCM_16, 128, wire.AUTH_NONE), 1)
	require.NoError(t, err)
	withESN := roadWarrior(wire.ENCR_AES_CBC, 128, wire.AUTH_HMAC_SHA2_256_128)
	withESN.ESN = true
	esn, _, err := o.states(withESN, 1)
	require.NoError(t, err)
	for _, tc := range []struct {
		st   *stateSpec
		err  error
		want string
	}{
		{cbc, syscall.EPROTONOSUPPORT, "xfrm: adding state 198.51.100.9->192.0.2.2 spi 0xc1a0c1a0: xfrm: kernel has no ESP (CONFIG_INET_ESP): "},
		{gcm, syscall.ENOSYS, "kernel has no algorithm rfc4106(gcm(aes)) (CONFIG_CRYPTO_GCM)"},
		{cbc, syscall.ENOSYS, "kernel has no algorithm cbc(aes) or hmac(sha256) (CONFIG_CRYPTO_CBC, CONFIG_CRYPTO_AES; CONFIG_CRYPTO_HMAC, CONFIG_CRYPTO_SHA256)"},
		{gcm, syscall.ENOENT, "kernel has no crypto transform for rfc4106(gcm(aes)) (ESP builds it with CONFIG_CRYPTO_SEQIV and a random number generator"},
		{esn, syscall.ENOENT, "kernel has no crypto transform for cbc(aes) + hmac(sha256) (ESP builds it with CONFIG_CRYPTO_AUTHENCESN, CONFIG_CRYPTO_ECHAINIV and"},
	} {
		err := stateError("adding", tc.st, tc.err)
		assert.Contains(t, err.Error(), tc.want)
		var se *SupportError
		assert.True(t, errors.As(err, &se), "typed: %v", err)
		assert.True(t, errors.Is(err, tc.err), "wraps the errno: %v", err)
	}
}
