package lab

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCertConn(t *testing.T) {
	got := CertConn{Local: "192.0.2.1", Remote: "192.0.2.2", Proposals: "aes128-sha256-modp2048",
		ESP: "aes128-sha256", VIPs: "0.0.0.0", RemoteTS: "10.0.0.0/8", Extra: "fragmentation = force\ndpd_delay = 2s"}.String()
	want := `connections {
	home {
		local_addrs = 192.0.2.1
		remote_addrs = 192.0.2.2
		proposals = aes128-sha256-modp2048
		vips = 0.0.0.0
		fragmentation = force
		dpd_delay = 2s
		local {
			auth = pubkey
			certs = client.pem
		}
		remote {
			auth = pubkey
		}
		children {
			net {
				remote_ts = 10.0.0.0/8
				esp_proposals = aes128-sha256
			}
		}
	}
}
`
	assert.Equal(t, want, got)
	assert.NotContains(t, CertConn{Local: "a", Remote: "b"}.String(), "vips", "no virtual IP asked for without VIPs")
	assert.Equal(t, strings.Replace(want, "\t\tfragmentation = force\n\t\tdpd_delay = 2s\n", "", 1),
		CertInitiatorConn("192.0.2.1", "192.0.2.2", "aes128-sha256-modp2048", "aes128-sha256", "10.0.0.0/8"))
}
