package radius

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debugLog has the shape of FreeRADIUS 3.2's -X output: a challenge, an
// accept with hidden keys, a reject, a request that got no reply, and the
// lines between packets that the parser must skip.
const debugLog = `Ready to process requests
(0) Received Access-Request Id 12 from 203.0.113.1:40001 to 203.0.113.2:1812 length 120
(0)   Message-Authenticator = 0x00112233445566778899aabbccddeeff
(0)   User-Name = "carol"
(0)   NAS-Identifier = "ikelab"
(0)   Calling-Station-Id = "192.0.2.1"
(0)   EAP-Message = 0x0201000a016361726f6c
(0) # Executing section authorize from file /tmp/x/radiusd.conf
(0)   authorize {
(0)     [files] = ok
(0) Sent Access-Challenge Id 12 from 203.0.113.2:1812 to 203.0.113.1:40001 length 80
(0)   EAP-Message = 0x010200060d20
(0)   State = 0xaabb
(0) Finished request
Waking up in 4.9 seconds.
(1) Received Access-Request Id 13 from 203.0.113.1:40002 to 203.0.113.2:1812 length 130
(1)   User-Name = "carol"
(1)   State = 0xaabb
(1) eap: Peer sent packet with method EAP NAK (3)
(1) Login OK: [carol] (from client ikelab-responder port 0 cli 192.0.2.1)
(1) Sent Access-Accept Id 13 from 203.0.113.2:1812 to 203.0.113.1:40002 length 0
(1)   MS-MPPE-Recv-Key = <<< secret >>>
(1)   MS-MPPE-Send-Key = <<< secret >>>
(1)   EAP-Message = 0x03030004
(1)   User-Name = "carol"
(1) Finished request
(2) Received Access-Request Id 14 from 203.0.113.1:40003 to 203.0.113.2:1812 length 60
(2)   User-Name = "dave \"the\" admin"
(2) Login incorrect (mschap: MS-CHAP2-Response is incorrect): [dave] (from client ikelab-responder port 0 cli 192.0.2.1)
(2) Sent Access-Reject Id 14 from 203.0.113.2:1812 to 203.0.113.1:40003 length 44
(2)   EAP-Message = 0x04040004
(3) Received Access-Request Id 15 from 203.0.113.1:40004 to 203.0.113.2:1812 length 60
(3)   User-Name = "erin"
Waking up in 0.3 seconds.
`

func TestParseLog(t *testing.T) {
	ex := ParseLog(debugLog)
	require.Len(t, ex, 4)

	e := ex[0]
	assert.Equal(t, 0, e.Number)
	assert.Equal(t, Packet{Code: AccessRequest, ID: 12, From: "203.0.113.1:40001", To: "203.0.113.2:1812", Attrs: []Attr{
		{"Message-Authenticator", "0x00112233445566778899aabbccddeeff"},
		{"User-Name", "carol"},
		{"NAS-Identifier", "ikelab"},
		{"Calling-Station-Id", "192.0.2.1"},
		{"EAP-Message", "0x0201000a016361726f6c"},
	}}, e.Request, "the section lines after the attributes are not attributes")
	require.NotNil(t, e.Reply)
	assert.Equal(t, AccessChallenge, e.Reply.Code)
	assert.Len(t, e.Reply.Attrs, 2)
	assert.Empty(t, e.Login)

	e = ex[1]
	require.NotNil(t, e.Reply)
	assert.Equal(t, AccessAccept, e.Reply.Code)
	assert.Equal(t, 13, e.Reply.ID)
	v, ok := e.Reply.Get("MS-MPPE-Recv-Key")
	assert.True(t, ok)
	assert.Equal(t, "<<< secret >>>", v)
	assert.Equal(t, "Login OK: [carol] (from client ikelab-responder port 0 cli 192.0.2.1)", e.Login)

	e = ex[2]
	user, _ := e.Request.Get("User-Name")
	assert.Equal(t, `dave "the" admin`, user, "FreeRADIUS's escapes undone")
	require.NotNil(t, e.Reply)
	assert.Equal(t, AccessReject, e.Reply.Code)
	assert.True(t, strings.HasPrefix(e.Login, "Login incorrect (mschap:"))

	assert.Nil(t, ex[3].Reply, "a request without a reply has none")
	_, ok = ex[3].Request.Get("State")
	assert.False(t, ok)

	sum := Summary(ex)
	assert.Contains(t, sum, `(1) Access-Request from 203.0.113.1:40002 User-Name="carol" -> Access-Accept`)
	assert.Contains(t, sum, `(3) Access-Request from 203.0.113.1:40004 User-Name="erin" -> no reply`)
	assert.NotContains(t, sum, "0x", "no attribute values but User-Name")
	assert.Contains(t, Summary(nil), "no request reached it")
}

// A reused request number (FreeRADIUS numbers requests from 0 again only
// after a restart, but the parser should not merge two of them) starts a
// new exchange, and a reply goes to the latest request of its number.
func TestParseLogReusedNumber(t *testing.T) {
	log := `(0) Received Access-Request Id 1 from 198.51.100.1:1 to 198.51.100.2:1812 length 20
(0) Sent Access-Reject Id 1 from 198.51.100.2:1812 to 198.51.100.1:1 length 20
(0) Received Access-Request Id 2 from 198.51.100.1:2 to 198.51.100.2:1812 length 20
(0) Sent Access-Accept Id 2 from 198.51.100.2:1812 to 198.51.100.1:2 length 20
`
	ex := ParseLog(log)
	require.Len(t, ex, 2)
	assert.Equal(t, AccessReject, ex[0].Reply.Code)
	assert.Equal(t, AccessAccept, ex[1].Reply.Code)
	assert.Equal(t, 2, ex[1].Request.ID)
}

func TestParseLogEmpty(t *testing.T) {
	assert.Empty(t, ParseLog(""))
	assert.Empty(t, ParseLog("Ready to process requests\n(0) Sent Access-Accept Id 1 from a:1 to b:2 length 0\n"),
		"a reply without its request is not an exchange")
}
