module dhproxy

go 1.26.0

toolchain go1.26.11

require (
	github.com/vishvananda/netlink v1.3.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.50.0
)

require github.com/vishvananda/netns v0.0.4 // indirect
