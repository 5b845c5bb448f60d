// Package vm runs the ikelab responder against a real kernel IPsec stack:
// Debian's own kernel booted under QEMU, because this project's hosts have
// XFRM but no ESP (see ../shared/LAB.md). It is a library for go test, like
// interop/lab, plus the tests that use it.
//
// # The guest
//
//   - Kernel: the package linux-image-amd64 depends on, fetched with
//     apt-get download into the cache ($IKELAB_CACHE, default
//     ~/.cache/ikelab) and unpacked with dpkg-deb once; later runs find it
//     there. The bzImage's xz payload is unpacked to vmlinux, which QEMU
//     boots through its PVH entry point with qboot, faster than having the
//     guest decompress itself under emulation.
//   - Initramfs: a cpio archive written here (no cpio tool needed), left
//     uncompressed because the guest inflates slowly under TCG: static
//     busybox, Debian's ip(8) with the libraries ldd names (busybox's ip
//     has no xfrm), the modules of XFRMModules with the dependencies read
//     from their .modinfo sections (no depmod or modprobe needed), loaded
//     with insmod in dependency order, and the programs a test adds.
//   - Emulation: TCG with -cpu max (AES-NI and AVX emulated), 2 CPUs,
//     512 MiB; the host's KVM is a PVM backend stock kernels cannot boot
//     on. Boot to /init takes about 2.5 s, module loading about 1 s more
//     (the DRBG self-tests dominate).
//   - Network: QEMU runs inside a test namespace and attaches the guest's
//     virtio NIC to a TAP device made there beforehand, so the host side
//     is addressed before the guest boots.
//
// # The tests
//
// TestKernelXFRM boots one guest with interop/vm/internal/vmresponder (the
// engine with the xfrm installer in "required" mode and an HTTP control
// server) and drives strongSwan initiators against it: kernel-libipsec
// ones on the host, directly and through a port-translating NAT (both
// ESP-in-UDP: libipsec always encapsulates), and a kernel-netlink one
// inside the guest for plain ESP, with and without extended sequence
// numbers. Each child SA must carry pings, show the negotiated algorithms
// and strongSwan's SPIs in `ip xfrm state`, and leave nothing behind when
// deleted. Then: an install the guest kernel refuses (a missing crypto
// template) with the error naming it, a crash with SAs installed and the
// restart that cleans up, kernel hard and soft expiry reaching the engine
// (delete, and rekey), and a daemon stop.
//
// Host packages (Debian): qemu-system-x86 (with qemu-system-data for
// qboot.rom), busybox-static, xz-utils (optional, for vmlinux), iproute2,
// nftables, iputils-ping and the strongSwan packages interop/lab lists.
// The test skips, saying which, when one is missing or it does not run as
// root.
package vm
