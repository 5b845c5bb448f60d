// Package bench measures the ikelab responder under load beside
// strongSwan's charon, on the same machine, in one run, with the same
// certificates, proposals and load.
//
// The load is ikelab's own initiator in its load mode (`initiator load`):
// many concurrent full handshakes (IKE_SA_INIT, IKE_AUTH with a
// certificate, one child SA with a virtual IP) from 254 source addresses
// inside a client network namespace, every SA held open until the run
// ends. The responder runs in a server namespace: the ikelab responder
// negotiating only (no kernel ESP; its default), or charon with
// kernel-libipsec (ESP in user space, since the host kernel has none).
// Neither throttles: both have their COOKIE and half-open limits raised.
//
// When the machine has two or more CPUs the responder is pinned to CPU 1
// and the load generator to CPU 0 (taskset), so that the responder has one
// core to itself, apart from other work on the machine.
//
// For each suite and responder the test reports what the load generator
// saw (handshakes per second, p50/p99 latency, failures) and what the
// responder spent, read from /proc: CPU time (utime + stime) per handshake
// and resident memory (VmRSS above its idle value) per established IKE SA
// once every SA is up.
//
// Run it as root with strongSwan installed:
//
//	go test -run TestResponderLoad -v ./interop/bench/                                 # small: 1,000 SAs per cell
//	IKELAB_BENCH_SAS=10000 IKELAB_BENCH_TABLE=/tmp/t.md go test -run TestResponderLoad -v -timeout 60m ./interop/bench/
//
// IKELAB_BENCH_PROFILE=DIR also writes a CPU profile and a heap profile
// (with every SA up) of each ikelab responder run into DIR, through the
// responder's IKELAB_CPUPROFILE and IKELAB_MEMPROFILE, and a CPU profile of
// the load generator of every cell (--cpuprofile);
// IKELAB_BENCH_CONCURRENCY sets the handshakes in flight (default 64);
// IKELAB_BENCH_LOG_LEVEL=warning runs the ikelab responder without its
// info lines (default info; its audit records are written either way);
// IKELAB_BENCH_GC_PERCENT sets the ikelab responder's gc_percent (default
// the responder's own); IKELAB_BENCH_RUNS=N runs each cell N times, each
// ikelab run with a bound of its own, and logs the runs' spread and
// medians (this machine's speed moves by a third between runs: compare
// medians, not runs):
//
//	IKELAB_BENCH_RUNS=9 IKELAB_BENCH_SAS=10000 go test -run 'TestResponderLoad/ECP.*/ikelab' -v -timeout 60m ./interop/bench/
//
// docs/performance.md holds the full run's table.
package bench
