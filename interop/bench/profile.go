package bench

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
)

// The same-run crypto bound is measured in six seconds around a cell
// that runs for several; on a shared machine whose speed moves by a third
// from one minute to the next, the responder's cryptography can still run
// markedly slower (or faster) during the cell than in the benchmark
// beside it.
// The crypto share of the responder's own CPU profile does not depend on
// the machine's speed: the cryptography and the rest are sampled in the
// same seconds. If the cryptography ran at the benchmark's speed, the
// share would be the one-core rate's fraction of the crypto bound.

// cryptoFrames matches the functions whose samples count as cryptography,
// as BenchmarkResponderHandshake measures it: Go's crypto implementations,
// their random numbers and the big-number arithmetic under them. ikelab's
// own crypto package is left out (its loops and allocations around the
// primitives are in the bound too, so the share errs low, by about 2
// points in the profiles of docs/performance.md). Certificate parsing and
// path validation (crypto/x509) are not in the bound and do not count, nor
// do their signature checks (cryptoIgnore).
const cryptoFrames = `^(crypto/(internal|ecdsa|ecdh|ed25519|hmac|sha1|sha256|sha512|sha3|aes|cipher|subtle|rsa|rand|mlkem)|math/big|filippo\.io/bigmod|github\.com/cloudflare/circl)[./]`

// cryptoIgnore drops the certificate check's own signature checks from
// the cryptography (the path cache makes them rare in the bench).
const cryptoIgnore = `^crypto/x509[./]`

// notServing matches what the responder does for the bench rather than
// for its peers: answering `responder sas` on the control socket.
const notServing = `^main\.serveControl`

// cryptoShare returns the share of the CPU samples in the profile at path
// that are cryptography, leaving out the control socket's. It reads the
// profile with `go tool pprof`.
func cryptoShare(path string) (float64, error) {
	all, err := profileMillis(path, "", notServing)
	if err != nil {
		return 0, err
	}
	if all == 0 {
		return 0, fmt.Errorf("bench: no samples in %s", path)
	}
	crypto, err := profileMillis(path, cryptoFrames, notServing+"|"+cryptoIgnore)
	if err != nil {
		return 0, err
	}
	return crypto / all, nil
}

// showing is pprof -top's summary of the samples its filters kept:
// "Showing nodes accounting for 4640ms, 100% of 4640ms total".
var showing = regexp.MustCompile(`Showing nodes accounting for ([0-9.]+)ms, `)

// profileMillis returns the milliseconds of CPU samples in the profile
// whose stacks have a frame matching focus (any, if empty) and none
// matching ignore. Every node is shown, so the summary covers them all.
func profileMillis(path, focus, ignore string) (float64, error) {
	args := []string{"tool", "pprof", "-top", "-unit=ms", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0"}
	if focus != "" {
		args = append(args, "-focus="+focus)
	}
	if ignore != "" {
		args = append(args, "-ignore="+ignore)
	}
	out, err := exec.Command("go", append(args, path)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("bench: go tool pprof %s: %w\n%s", path, err, out)
	}
	m := showing.FindSubmatch(out)
	if m == nil {
		// A filter that keeps nothing prints no summary line.
		return 0, nil
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
