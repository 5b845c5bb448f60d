#!/usr/bin/env bash
# The whole ikelab test suite: formatting, vet, unit and race tests, the
# real-peer interop tests (strongSwan, tshark, network namespaces), and a
# bounded run of every fuzz target.
#
#   sudo ./test.sh                 everything; installs missing Debian packages
#   ./test.sh                      as a user: tests that need root skip and say so
#   FUZZTIME=10m ./test.sh fuzz    only the fuzz targets, each for 10 minutes
#
# Environment: FUZZTIME (default 20s per target), FUZZMINIMIZETIME (default
# 2s), GOFLAGS as usual.
set -euo pipefail
cd "$(dirname "$0")"

FUZZTIME=${FUZZTIME:-20s}
# The fuzzer minimizes every new interesting input for up to
# -fuzzminimizetime (Go's default 60s) before it mutates again. Within a
# 20 s budget that left ten of the 43 targets at 0 executions a second for most
# of their run (FuzzReassembly: 10,440 executions and no new input in 20 s;
# with 2 s: 66,899 and four). A failing input is still written, if less
# minimized.
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-2s}
what=${1:-all}

# Debian packages the tests use: tshark dissects what we send, strongSwan is
# the interop peer, iproute2/nftables build the lab networks, FreeRADIUS is
# the RADIUS server of the EAP relay tests, QEMU and busybox boot Debian's
# kernel for the XFRM test (this host kernel has no ESP).
PACKAGES=(tshark strongswan-charon strongswan-swanctl strongswan-pki
	libstrongswan-extra-plugins libcharon-extra-plugins
	iproute2 nftables iputils-ping freeradius
	qemu-system-x86 busybox-static xz-utils)

install_packages() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	if [ "$(id -u)" -ne 0 ]; then
		echo "test.sh: not root, so not installing: ${missing[*]} (tests that need them will skip)"
		return
	fi
	echo "test.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

checks() {
	echo "== gofmt"
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
	if [ -n "$unformatted" ]; then
		echo "gofmt would change:"; echo "$unformatted"; exit 1
	fi
	echo "== go vet"
	go vet ./...
}

unit() {
	echo "== go test -race"
	go test -race -count=1 -timeout 30m ./...
}

# Go 1.26's fuzz coordinator can report a spurious "context deadline exceeded"
# failure when -fuzztime runs out while a worker is mid-call (go.dev/issue/75804,
# fixed in Go 1.27). The fuzz stage therefore runs on the go1.27.3 toolchain,
# which the go command fetches from the module proxy; the module itself stays on
# Go 1.26. If that toolchain cannot be fetched, a run that fails with nothing but
# that message and writes no failing input is run once more; anything else fails.
FUZZ_TOOLCHAIN=${FUZZ_TOOLCHAIN:-go1.27.3}

fuzz() {
	if GOTOOLCHAIN=$FUZZ_TOOLCHAIN go version >/dev/null 2>&1; then
		export GOTOOLCHAIN=$FUZZ_TOOLCHAIN
	else
		echo "test.sh: cannot fetch $FUZZ_TOOLCHAIN; fuzzing on $(go env GOVERSION)"
	fi
	echo "== fuzz targets, $FUZZTIME each, $(go env GOVERSION)"
	local pkg name
	while IFS=: read -r file name; do
		pkg=./$(dirname "$file")
		echo "-- $pkg $name"
		fuzz_one "$pkg" "$name" || fuzz_one "$pkg" "$name" retry
	done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . |
		sed -E 's/^\.\/(.*):func (Fuzz.*)$/\1:\2/' | sort)
}

# fuzz_one runs one target. It returns 1 only for the coordinator's deadline
# race (and only on the first try); any real failure exits the script.
fuzz_one() {
	local pkg=$1 name=$2 retry=${3:-} log rc=0
	log=$(mktemp)
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "$pkg" 2>&1 | tee "$log" || rc=$?
	if [ "$rc" -ne 0 ] && [ -z "$retry" ] &&
		grep -q 'context deadline exceeded' "$log" &&
		! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log"; then
		echo "test.sh: $name hit the fuzz coordinator's deadline race (go.dev/issue/75804); running it again"
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
	if [ "$rc" -ne 0 ]; then
		echo "test.sh: fuzz target $name failed"
		exit "$rc"
	fi
}

go mod download
case "$what" in
all)
	install_packages
	checks
	unit
	fuzz
	;;
unit) install_packages; checks; unit ;;
fuzz) fuzz ;;
*) echo "usage: $0 [all|unit|fuzz]"; exit 2 ;;
esac
echo "test.sh: all passed"
