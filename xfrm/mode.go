package xfrm

import (
	"fmt"
	"log/slog"
	"strings"
)

// Mode says whether the daemon puts child SAs into the kernel.
type Mode int

const (
	// Off negotiates child SAs without installing them (sa.Memory).
	Off Mode = iota
	// Auto installs them when the kernel can, and otherwise warns once
	// and negotiates only.
	Auto
	// Required refuses to start without kernel ESP.
	Required
)

var modeNames = [...]string{"off", "auto", "required"}

func (m Mode) String() string {
	if int(m) >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode reads a configuration value: "off", "auto" or "required"
// (case-insensitive); the empty string means Auto.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return Auto, nil
	}
	for i, n := range modeNames {
		if strings.EqualFold(s, n) {
			return Mode(i), nil
		}
	}
	return Off, fmt.Errorf("xfrm: unknown mode %q (want off, auto or required)", s)
}

// Start is the daemon's start-up sequence for mode: probe the kernel, open
// the installer and remove what an earlier run of the daemon left behind.
//
// It returns a nil Installer and a nil error when child SAs are to be
// negotiated only: mode Off, or Auto on a kernel without the support (a
// warning naming what is missing goes to opts.Log). The caller then uses
// sa.NewMemory(). With Required, missing support is an error that names
// it, e.g. "xfrm: kernel has no ESP (CONFIG_INET_ESP): protocol not
// supported: Requested type not found (probed with AES_CBC-128/...)".
func Start(mode Mode, opts Options) (*Installer, error) {
	log := opts.logger()
	switch mode {
	case Off:
		return nil, nil
	case Auto, Required:
	default:
		return nil, fmt.Errorf("xfrm: unknown mode %d", int(mode))
	}
	if err := Probe(); err != nil {
		if mode == Required {
			return nil, err
		}
		log.Warn("child SAs will be negotiated but not installed: " + err.Error())
		return nil, nil
	}
	x, err := New(opts)
	if err != nil {
		if mode == Required {
			return nil, err
		}
		log.Warn("child SAs will be negotiated but not installed: " + err.Error())
		return nil, nil
	}
	if err := x.Cleanup(); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

func (o *Options) logger() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}
