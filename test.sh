#!/usr/bin/env bash
# The whole ikelab test suite: formatting, vet, unit and race tests, the
# real-peer interop tests (strongSwan, tshark, network namespaces), and a
# bounded run of every fuzz target.
#
#   sudo ./test.sh                 everything; installs missing Debian packages
#   ./test.sh                      as a user: tests that need root skip and say so
#   FUZZTIME=10m ./test.sh fuzz    only the fuzz targets, each for 10 minutes
#
# Environment: FUZZTIME (default 20s per target), GOFLAGS as usual.
set -euo pipefail
cd "$(dirname "$0")"

FUZZTIME=${FUZZTIME:-20s}
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

fuzz() {
	echo "== fuzz targets, $FUZZTIME each"
	local pkg name
	while IFS=: read -r file name; do
		pkg=./$(dirname "$file")
		echo "-- $pkg $name"
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"
	done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . |
		sed -E 's/^\.\/(.*):func (Fuzz.*)$/\1:\2/' | sort)
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
