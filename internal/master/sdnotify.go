package master

import (
	"net"
	"os"
)

// Notify sends a state line ("READY=1", "RELOADING=1", "STOPPING=1") to
// systemd's notification socket, named by $NOTIFY_SOCKET (a path, or an
// abstract name written "@name", which the net package understands).
// Without the variable it does nothing, as sd_notify(3).
func Notify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
