// Package interop proves ikelab against real peers: strongSwan's charon in
// network namespaces (see the lab package), tshark on the wire, and, for
// the kernel path, Debian's kernel under QEMU. Its tests need root and the
// Debian packages that test.sh installs; without them they skip and say so.
package interop
