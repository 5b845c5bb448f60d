package lab

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStrongswanConfRecipe(t *testing.T) {
	conf, err := strongswanConf("/tmp/lab-charon-x", &CharonConfig{
		Options: map[string]string{
			"fragment_size":                         "1280",
			"cookie_threshold_ip":                   "3",
			"plugins.kernel-libipsec.allow_peer_ts": "yes",
		},
		Plugins:   []string{"sshkey"},
		LogLevels: map[string]int{"enc": 3, "cfg": 1},
	})
	require.NoError(t, err)

	// The pieces of the recipe, nested the way strongswan.conf wants.
	for _, want := range []string{
		"charon {\n\tblock_threshold = 10001\n\tcookie_threshold = 10000\n\tcookie_threshold_ip = 3\n\tfragment_size = 1280\n\tload_modular = yes\n",
		"\t\tkernel-libipsec {\n\t\t\tallow_peer_ts = yes\n\t\t\tload = yes\n\t\t}\n",
		"\t\tvici {\n\t\t\tload = yes\n\t\t\tsocket = unix:///tmp/lab-charon-x/run/charon.vici\n\t\t}\n",
		"\t\tsshkey {\n\t\t\tload = yes\n\t\t}\n",
		"\t\tlab {\n\t\t\tappend = no\n\t\t\tcfg = 1\n\t\t\tdefault = 1\n\t\t\tenc = 3\n\t\t\tflush_line = yes\n\t\t\tike = 2\n\t\t\tike_name = yes\n\t\t\tpath = /tmp/lab-charon-x/charon.log\n",
	} {
		assert.Contains(t, conf, want)
	}
	for _, absent := range []string{"stroke", "resolve"} {
		assert.NotContains(t, conf, absent+" {")
	}
	// kernel-libipsec must be in the list: without it no CHILD SA can be
	// installed on this host.
	assert.Contains(t, defaultPlugins, "kernel-libipsec")
	assert.Equal(t, strings.Count(conf, "{"), strings.Count(conf, "}"))
}

func TestStrongswanConfRefuses(t *testing.T) {
	for name, cfg := range map[string]CharonConfig{
		"level 4 logs keys":       {LogLevels: map[string]int{"ike": 4}},
		"level below -1":          {LogLevels: map[string]int{"ike": -2}},
		"unknown subsystem":       {LogLevels: map[string]int{"foo": 1}},
		"line break in value":     {Options: map[string]string{"x": "1\nload = no"}},
		"empty key segment":       {Options: map[string]string{"plugins..load": "no"}},
		"blank in key":            {Options: map[string]string{"a b": "1"}},
		"setting and section":     {Options: map[string]string{"plugins": "1"}},
		"section and setting":     {Options: map[string]string{"load_modular.x": "1"}},
		"plugin name with braces": {Plugins: []string{"x{"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := strongswanConf("/tmp/x", &cfg)
			assert.Error(t, err)
		})
	}
}

func TestConfValueQuoting(t *testing.T) {
	assert.Equal(t, "1280", confValue("1280"))
	assert.Equal(t, "%H:%M:%S", confValue("%H:%M:%S"))
	assert.Equal(t, `"a # b"`, confValue("a # b"))
	assert.Equal(t, `" padded "`, confValue(" padded "))
	assert.Equal(t, `"say \"hi\" \\ {}"`, confValue(`say "hi" \ {}`))
	assert.Equal(t, `""`, confValue(""))
}

func TestNetnsName(t *testing.T) {
	assert.Equal(t, "ini4242-7", netnsName("ini", 4242, 7))
	long := netnsName("averylongprefix", 4194303, 123456)
	assert.LessOrEqual(t, len(long), maxIfName)
	assert.True(t, strings.HasSuffix(long, "4194303-123456"), long)
	assert.Equal(t, "a12-1", netnsName("a", 12, 1))
}
