#!/usr/bin/env python3
"""Memory per idle keep-alive TLS client connection, like ../shared/bench/idle.py for plain ones.

    scripts/idle-tls.py [--conns 2000] PROXY...      # e.g. ./dhproxy /usr/sbin/haproxy

Each PROXY runs as `PROXY -f haproxy.cfg -db` with an "ssl crt" bind (a P-256 certificate made
here); N clients each complete a handshake, make one request and stay open. Reports the proxy's
RSS growth per connection one second after the last response, and checks that every client
connection is still open then.
"""
import argparse, os, resource, socket, ssl, subprocess, sys, tempfile, time

# idle.py: $BENCH_DIR, else ../shared/bench beside the checkout (or beside its worktree folder).
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for d in (os.environ.get("BENCH_DIR", ""), os.path.join(repo, "..", "shared", "bench"), os.path.join(repo, "..", "..", "shared", "bench")):
    if d and os.path.exists(os.path.join(d, "idle.py")):
        sys.path.insert(0, d)
        break
os.environ.setdefault("BENCH_PORT_BASE", "23000")
import idle  # noqa: E402  (ports, the backend nginx, rss_kib, wait_port)


def open_clients():
    return subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{idle.FE} )"],
                          capture_output=True, text=True).stdout.count("\n")


def measure(argv, conns, ctx):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, GOMAXPROCS="1"))
    try:
        if not idle.wait_port(idle.FE):
            sys.exit(f"{argv[0]} did not listen on {idle.FE}")
        time.sleep(0.5)
        r0, socks = idle.rss_kib(p.pid), []
        for _ in range(conns):
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", idle.FE), 5))
            socks.append(s)
            s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        for s in socks:
            s.settimeout(10)
            got = b""
            while b"\r\n\r\nok" not in got:
                d = s.recv(4096)
                if not d:
                    raise RuntimeError("connection closed before the response")
                got += d
        time.sleep(1.0)
        kib, still = (idle.rss_kib(p.pid) - r0) / conns, open_clients()
        for s in socks:
            s.close()
        return kib, still
    finally:
        p.terminate()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("proxies", nargs="+")
    a = ap.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="dhidletls.")
    key, crt, pem = (os.path.join(tmp, n) for n in ("k.pem", "c.pem", "cert.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=bench"], check=True, capture_output=True)
    with open(pem, "w") as f:
        f.write(open(crt).read() + open(key).read())
    cfg = os.path.join(tmp, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(idle.HAPROXY_CFG.replace(f"bind 127.0.0.1:{idle.FE}", f"bind 127.0.0.1:{idle.FE} ssl crt {pem}"))
    with open(os.path.join(tmp, "be.conf"), "w") as f:
        f.write(idle.BACKEND_CFG.format(d=tmp, be=idle.BE))
    be = subprocess.Popen(["nginx", "-c", os.path.join(tmp, "be.conf")], stderr=subprocess.DEVNULL)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        if not idle.wait_port(idle.BE):
            sys.exit("backend nginx did not start")
        print(f"idle keep-alive TLS connections: {a.conns}; RSS growth per connection (lower is better)")
        for proxy in a.proxies:
            kib, still = measure([proxy, "-f", cfg, "-db"], a.conns, ctx)
            print(f"{proxy:30s} {kib:6.2f} KiB/conn   ({still} of {a.conns} still open)")
    finally:
        be.terminate()
        be.wait()


if __name__ == "__main__":
    main()
