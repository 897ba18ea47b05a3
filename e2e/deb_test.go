package e2e

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scripts/build-deb.sh builds a package that installs into a clean root
// (dpkg --root), whose binary checks the default configuration, whose
// units pass systemd-analyze verify, with its man page.
func TestDebianPackage(t *testing.T) {
	if isHAProxy() {
		t.Skip("packages dhproxy")
	}
	for _, tool := range []string{"dpkg-deb", "dpkg", "systemd-analyze"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (Debian's dpkg and systemd packages): %v", tool, err)
		}
	}
	out := t.TempDir()
	build := exec.Command("../scripts/build-deb.sh", out)
	build.Stderr = os.Stderr
	deb, err := build.Output()
	if err != nil {
		t.Fatalf("build-deb.sh: %v", err)
	}
	pkg := strings.TrimSpace(string(deb))
	root := t.TempDir()
	os.Chmod(root, 0o755)
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "etc/systemd/system"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	if b, err := exec.Command("dpkg", "--root="+root, "--log=/dev/null", "-i", pkg).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, b)
	}
	bin := filepath.Join(root, "usr/sbin/dhproxy")
	if b, err := exec.Command(bin, "-c", "-f", filepath.Join(root, "etc/dhproxy/haproxy.cfg")).CombinedOutput(); err != nil || !strings.Contains(string(b), "Configuration file is valid") {
		t.Fatalf("installed dhproxy -c: %v\n%s", err, b)
	}
	// The binary is built without cgo: privileges can be dropped with
	// network capabilities kept on every thread.
	if b, _ := exec.Command("go", "version", "-m", bin).Output(); !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Errorf("packaged binary not built with CGO_ENABLED=0:\n%s", b)
	}
	// systemd-analyze resolves the units' dependencies in the root: give it
	// the system's units beside the package's.
	if b, err := exec.Command("cp", "-an", "/lib/systemd/system/.", filepath.Join(root, "lib/systemd/system/")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, b)
	}
	// The units reload with /bin/kill, which procps (priority "important",
	// on every Debian system) provides: give the root the system's one.
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	if b, err := exec.Command("cp", "-p", "/bin/kill", filepath.Join(root, "bin/kill")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, b)
	}
	units := []string{filepath.Join(root, "lib/systemd/system/dhproxy.service"), filepath.Join(root, "lib/systemd/system/dhproxy-keepalived.service")}
	if b, err := exec.Command("systemd-analyze", append([]string{"verify", "--root=" + root}, units...)...).CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, b)
	}
	f, err := os.Open(filepath.Join(root, "usr/share/man/man8/dhproxy.8.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if man, _ := io.ReadAll(z); !strings.HasPrefix(string(man), ".TH DHPROXY 8") {
		t.Errorf("man page: %.40q", man)
	}
	conf, _ := os.ReadFile(filepath.Join(root, "var/lib/dpkg/info/dhproxy.conffiles"))
	if !strings.Contains(string(conf), "/etc/dhproxy/haproxy.cfg") {
		t.Errorf("conffiles: %q", conf)
	}
}
