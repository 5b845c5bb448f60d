package xfrm

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// ErrUnknownSPI is returned by Counters for an SPI that is not one of the
// installer's child SAs.
var ErrUnknownSPI = errors.New("xfrm: no such SA of ours")

// SupportError reports kernel support that an operation needs and the
// running kernel lacks. A daemon in "required" mode refuses to start with
// it; an install that fails with it answers the peer NO_PROPOSAL_CHOSEN.
type SupportError struct {
	// Missing names the support the way a kernel configuration does:
	// "ESP (CONFIG_INET_ESP)", "algorithm rfc4106(gcm(aes)) (CONFIG_CRYPTO_GCM)".
	Missing string
	// Err is the kernel's errno, annotated with its extended ack message
	// when it sent one.
	Err error
}

func (e *SupportError) Error() string {
	return "xfrm: kernel has no " + e.Missing + ": " + e.Err.Error()
}

func (e *SupportError) Unwrap() error { return e.Err }

// kernelConfig names the kernel option behind each crypto API name used in
// XFRM states (crypto/Kconfig).
var kernelConfig = map[string]string{
	"cbc(aes)":                      "CONFIG_CRYPTO_CBC, CONFIG_CRYPTO_AES",
	"cbc(des3_ede)":                 "CONFIG_CRYPTO_CBC, CONFIG_CRYPTO_DES",
	"rfc3686(ctr(aes))":             "CONFIG_CRYPTO_CTR",
	"rfc4106(gcm(aes))":             "CONFIG_CRYPTO_GCM",
	"rfc4309(ccm(aes))":             "CONFIG_CRYPTO_CCM",
	"rfc7539esp(chacha20,poly1305)": "CONFIG_CRYPTO_CHACHA20POLY1305",
	"hmac(md5)":                     "CONFIG_CRYPTO_HMAC, CONFIG_CRYPTO_MD5",
	"hmac(sha1)":                    "CONFIG_CRYPTO_HMAC, CONFIG_CRYPTO_SHA1",
	"hmac(sha256)":                  "CONFIG_CRYPTO_HMAC, CONFIG_CRYPTO_SHA256",
	"hmac(sha384)":                  "CONFIG_CRYPTO_HMAC, CONFIG_CRYPTO_SHA512",
	"hmac(sha512)":                  "CONFIG_CRYPTO_HMAC, CONFIG_CRYPTO_SHA512",
	"xcbc(aes)":                     "CONFIG_CRYPTO_XCBC",
	"cmac(aes)":                     "CONFIG_CRYPTO_CMAC",
}

func algDescription(names ...string) string {
	var parts, configs []string
	for _, n := range names {
		parts = append(parts, n)
		if c, ok := kernelConfig[n]; ok {
			configs = append(configs, c)
		}
	}
	s := "algorithm " + strings.Join(parts, " or ")
	if len(configs) > 0 {
		s += " (" + strings.Join(configs, "; ") + ")"
	}
	return s
}

// stateError turns the kernel's refusal of a state into an error a user can
// act on. Which errno means what follows net/xfrm/xfrm_user.c and
// xfrm_state.c: an algorithm the kernel does not know or cannot load fails
// attach_one_algo/attach_aead with ENOSYS; a protocol without a registered
// type (no esp4/esp6) fails xfrm_init_state with EPROTONOSUPPORT; a
// transform the crypto API cannot instantiate (a template such as seqiv
// without a random number generator) fails esp_init_state with ENOENT.
func stateError(op string, st *stateSpec, err error) error {
	var missing string
	switch {
	case errors.Is(err, syscall.EPROTONOSUPPORT):
		missing = "ESP (CONFIG_INET_ESP)"
		if st.Dst.Is6() {
			missing = "ESP for IPv6 (CONFIG_INET6_ESP)"
		}
	case errors.Is(err, syscall.ENOSYS):
		if st.AEAD != nil {
			missing = algDescription(st.AEAD.Name)
		} else {
			missing = algDescription(st.algNames()...)
		}
	case errors.Is(err, syscall.ENOENT) && op != "deleting":
		missing = "crypto transform for " + strings.Join(st.algNames(), " + ") + " (" + transformNeeds(st) + ")"
	case errors.Is(err, syscall.EPERM):
		return fmt.Errorf("xfrm: %s state %s: %w (CAP_NET_ADMIN is needed)", op, st.id(), err)
	}
	if missing != "" {
		return fmt.Errorf("xfrm: %s state %s: %w", op, st.id(), &SupportError{Missing: missing, Err: err})
	}
	return fmt.Errorf("xfrm: %s state %s: %w", op, st.id(), err)
}

// transformNeeds names the crypto templates esp4/esp6 wrap the algorithms
// in (net/ipv4/esp4.c, esp_init_aead and esp_init_authenc) and the IV
// generator the algorithm table asks for (net/xfrm/xfrm_algo.c: seqiv for
// the AEADs, echainiv for CBC), which needs the default random number
// generator.
func transformNeeds(st *stateSpec) string {
	var need []string
	if st.AEAD == nil {
		if st.ESN {
			need = append(need, "CONFIG_CRYPTO_AUTHENCESN")
		} else {
			need = append(need, "CONFIG_CRYPTO_AUTHENC")
		}
		need = append(need, "CONFIG_CRYPTO_ECHAINIV")
	} else {
		need = append(need, "CONFIG_CRYPTO_SEQIV")
	}
	return "ESP builds it with " + strings.Join(need, ", ") +
		" and a random number generator: CONFIG_CRYPTO_DRBG with CONFIG_CRYPTO_JITTERENTROPY"
}

// socketError explains a failure to open the XFRM netlink socket.
func socketError(err error) error {
	switch {
	case errors.Is(err, syscall.EPROTONOSUPPORT):
		return fmt.Errorf("xfrm: opening the XFRM netlink socket: %w", &SupportError{Missing: "XFRM netlink (CONFIG_XFRM_USER)", Err: err})
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("xfrm: opening the XFRM netlink socket: %w (CAP_NET_ADMIN is needed)", err)
	}
	return fmt.Errorf("xfrm: opening the XFRM netlink socket: %w", err)
}
