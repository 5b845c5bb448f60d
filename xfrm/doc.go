// Package xfrm puts negotiated child SAs into the Linux kernel's IPsec
// stack (XFRM) over netlink. It implements sa.Installer: for every child SA
// an inbound and an outbound ESP state (RFC 4303), and in, out and — in
// tunnel mode — fwd policies for the narrowed traffic selectors (RFC 4301,
// Section 4.4.1), with ESP-in-UDP encapsulation when NAT-T applies (RFC
// 3948), the anti-replay window, extended sequence numbers when negotiated,
// and the soft and hard lifetimes of the policy.
//
// What it adds to the kernel, in `ip xfrm` terms, for a child SA with
// inbound SPI I, outbound SPI O, outer addresses L (ours) and R (the
// peer's), traffic selectors LTS === RTS and kernel reqid Q:
//
//	ip xfrm state allocspi src R dst L proto esp mode tunnel reqid BASE      (AllocSPI: I)
//	ip xfrm state update src R dst L proto esp spi I reqid Q mode tunnel ... (inbound)
//	ip xfrm state add    src L dst R proto esp spi O reqid Q mode tunnel ... (outbound)
//	ip xfrm policy add src LTS dst RTS dir out tmpl src L dst R proto esp reqid Q mode tunnel
//	ip xfrm policy add src RTS dst LTS dir in  tmpl src R dst L proto esp reqid Q mode tunnel
//	ip xfrm policy add src RTS dst LTS dir fwd tmpl src R dst L proto esp reqid Q mode tunnel
//
// # Ownership
//
// The daemon's kernel objects are recognised by their reqid: every state
// and policy template of ours carries a reqid in [ReqIDBase,
// ReqIDBase+ReqIDCount), the base itself marking SPIs allocated but not yet
// installed. Cleanup removes exactly those, so a restart after a crash
// starts from a clean kernel without touching another IKE daemon's SAs
// (strongSwan numbers its reqids from 1). Marks are not used for this: a
// marked state or policy only matches marked packets, so a mark would change
// what the kernel does with traffic, not just label it.
//
// # Kernel messages the netlink library cannot send
//
// States and policies are built here from the library's structures
// (vishvananda/netlink/nl) and sent on our own XFRM socket rather than
// through netlink.Handle, because the Handle cannot allocate an SPI on a
// given socket, set XFRM_STATE_AF_UNSPEC (needed for IPv6 traffic in an
// IPv4 tunnel and the reverse), send an ESN replay state for windows over 32
// packets, or express port ranges as port/mask selectors; and because our
// socket asks for extended acknowledgements, so errors carry the kernel's
// own explanation ("Requested AEAD algorithm not found").
//
// # Expiry
//
// The kernel enforces the lifetimes itself and announces each soft and hard
// expiry with XFRM_MSG_EXPIRE; Expires delivers them. On a hard expiry the
// kernel has already deleted the state: the SA layer deletes the child SA,
// tells the peer (RFC 7296, Section 1.4.1) and calls Remove, which then only
// removes the policies and the other direction's state.
package xfrm
