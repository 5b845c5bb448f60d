// Command profiled writes a CPU profile of a known mix of work, for
// TestCryptoShare: built on its own, so that the test's -race build (whose
// detector hides the callers of many samples) does not change what the
// profile holds.
//
//	profiled -mode sign|spin|both -out PATH [-for CPU-DURATION]
//
// The work runs until the process has used -for of CPU time, not of wall
// time, so that a busy machine does not thin the profile out: at 100
// samples a second, a few samples of garbage collection in a profile of
// ten would read as a share of tens of percent.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"log"
	"os"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	mode := flag.String("mode", "sign", "sign: ECDSA P-256 signatures; spin: arithmetic; both: as much time in each")
	out := flag.String("out", "", "the profile to write")
	d := flag.Duration("for", time.Second, "how much CPU time to work for")
	flag.Parse()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	digest := sha256.Sum256([]byte("signed octets"))
	sign := func() {
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
			log.Fatal(err)
		}
	}
	work := map[string]func(){
		"sign": sign,
		"spin": spin,
		"both": func() {
			start := time.Now()
			sign()
			for spent := time.Since(start); time.Since(start) < 2*spent; {
				spin()
			}
		},
	}[*mode]
	if work == nil {
		log.Fatalf("unknown mode %q", *mode)
	}

	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	for end := cpuTime() + *d; cpuTime() < end; {
		work()
	}
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// spin is work with no cryptography in it.
//
//go:noinline
func spin() {
	x := uint64(1)
	for i := range 2000 {
		x = x*6364136223846793005 + uint64(i)
	}
	sink = x
}

var sink uint64
