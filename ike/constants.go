package ike

import "time"

// Protocol timers and limits, with the RFC text they follow.
const (
	// HalfOpenTimeout bounds how long an IKE SA may wait for IKE_AUTH after
	// IKE_SA_INIT; strongSwan uses 30 s (charon.half_open_timeout).
	HalfOpenTimeout = 30 * time.Second

	// RetransmitTimeout and RetransmitTries drive retransmission of our own
	// requests (RFC 7296, Section 2.1: exponential back-off; the values
	// are strongSwan's retransmit_timeout and retransmit_tries).
	RetransmitTimeout = 4 * time.Second
	RetransmitTries   = 5

	// DefaultFragmentSize is the largest IKE message we send unfragmented
	// when the peer supports RFC 7383: a 1280-octet IPv6 path minus the
	// IPv6 (40) and UDP (8) headers and the non-ESP marker (4).
	DefaultFragmentSize = 1280 - 40 - 8 - 4

	// NonceLen is the nonce we send: at least half the PRF key size and
	// at least 128 bits (RFC 7296, Section 2.10); 32 covers SHA-512's 256.
	NonceLen = 32

	// MaxFragments and MaxReassembled bound RFC 7383 reassembly (Section
	// 2.6.1 leaves the limits to the receiver).
	MaxFragments   = 64
	MaxReassembled = 64 * 1024

	// FragmentTimeout bounds how long fragments wait for the rest of their
	// message; a retransmitted request starts over.
	FragmentTimeout = 10 * time.Second

	// InitRateThreshold is the number of IKE_SA_INIT requests in one
	// second above which cookies are demanded even when none left state:
	// refused requests create no half-open SA, but still cost a key
	// exchange's worth of work and a log line each.
	InitRateThreshold = 200
)
