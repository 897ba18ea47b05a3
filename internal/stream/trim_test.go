package stream

import (
	"net"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
)

func forcedCollections() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A keep-alive client busy with requests starts no job and allocates
// nothing, yet the proxy is not quiet: memory that grew must not make the
// trimmer collect (twice, then FreeOSMemory) under that load. Once the
// load stops it does, which shows that the growth was enough to trim.
func TestTrimmerWaitsWhileKeepAliveClientsAreBusy(t *testing.T) {
	cfg, port := keepAliveConfig(t, "always")
	startRuntime(t, cfg)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		req := []byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
		for {
			select {
			case <-stop:
				return
			default:
				roundTrip(t, c, req, buf)
			}
		}
	}()
	time.Sleep(600 * time.Millisecond) // past the trims of startup
	before := forcedCollections()
	grown := make([]byte, 6<<20) // more than the trimmer's growth threshold
	for i := range grown {
		grown[i] = 1
	}
	time.Sleep(6 * 250 * time.Millisecond)
	during := forcedCollections() - before
	close(stop)
	wg.Wait()
	if during != 0 {
		t.Errorf("%d forced collections while a keep-alive client was busy, want none", during)
	}
	waitFor(t, "a trim once the client is quiet", func() bool { return forcedCollections() > before+during })
	runtime.KeepAlive(grown)
}
