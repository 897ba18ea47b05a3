// Package vrrp runs the vrrp_instances of a keepalived.conf the way
// keepalived does, so a dhproxy node and a keepalived node can be peers.
//
// Layers, each testable alone:
//   - packet.go: the VRRP v2/v3 advert codec (IPv4 and IPv6, PASS auth,
//     pseudo-header checksums, keepalived's old unicast checksum), test
//     vectors captured from keepalived 2.2.7, FuzzDecode.
//   - instance.go: one instance's state machine (INIT, BACKUP, MASTER,
//     FAULT, STOP) with keepalived's timers and rules. It never reads the
//     clock nor touches the network: callers pass the time and an Actions
//     implementation, so unit tests drive it with a fake clock.
//   - runtime.go, socket.go, script.go, notify.go: the Runtime wires
//     instances to raw sockets (protocol 112, bound to the interface),
//     netlink (internal/netif: VIPs, virtual and static routes and rules,
//     gratuitous ARP/NA, link and route events),
//     vrrp_script/track_file tracking, notify scripts and sync groups.
//
// Starting VRRP from Go (dhproxy -K does this beside the proxy):
//
//	kcfg := keepalived.Load("keepalived.conf", &diags)
//	rt, err := vrrp.New(kcfg, vrrp.Options{
//		OnTransition: func(inst string, from, to vrrp.State) { ... }, // e.g. SMTP alerts; must not block
//		ProxyHealth:  proxy.Healthy, // answers "killall -0 haproxy" scripts in-process
//	})
//	err = rt.Start()
//	defer rt.Stop() // priority 0 adverts, VIPs removed, notify_stop
//
// From an end-to-end test, run "dhproxy vrrp -f keepalived.conf" inside a
// network namespace (see e2e/vrrp_lab_test.go: newVLab, start, waitHolder).
package vrrp
