#!/usr/bin/env python3
"""Remote-write recording proxy for the compliance comparison.

Each NAME=LISTEN=UPSTREAM argument forwards every request received on
127.0.0.1:LISTEN to UPSTREAM (a base URL) and appends one JSON line to LOG:
the receiver's name, a sequence number shared by all listeners, the status
code and the X-Prometheus-Remote-Write-*-Written headers of the answer.
The receiver suite sends its requests one at a time, receiver after
receiver, so the sequence numbers follow its "Response code from" lines.

usage: rwproxy.py LOG NAME=LISTEN=UPSTREAM...
"""
import http.server
import json
import sys
import threading
import urllib.error
import urllib.request

WRITTEN = ("Samples", "Histograms", "Exemplars")
lock = threading.Lock()
seq = [0]


def handler(name, upstream, log):
    class Forward(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def body(self):
            if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()

        def do_POST(self):
            body = self.body()
            req = urllib.request.Request(upstream + self.path, data=body, method="POST")
            for k, v in self.headers.items():
                if k.lower() not in ("host", "content-length", "connection", "transfer-encoding"):
                    req.add_header(k, v)
            try:
                resp = urllib.request.urlopen(req, timeout=30)
                code, hdrs, out = resp.status, resp.headers, resp.read()
            except urllib.error.HTTPError as e:
                code, hdrs, out = e.code, e.headers, e.read()
            rec = {"receiver": name, "code": code}
            for w in WRITTEN:
                rec[w.lower()] = hdrs.get("X-Prometheus-Remote-Write-%s-Written" % w)
            with lock:
                rec["seq"] = seq[0]
                seq[0] += 1
                log.write(json.dumps(rec) + "\n")
                log.flush()
            self.send_response(code)
            for k, v in hdrs.items():
                if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    return Forward


def main():
    log = open(sys.argv[1], "a")
    servers = []
    for arg in sys.argv[2:]:
        name, listen, upstream = arg.split("=", 2)
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(listen)), handler(name, upstream, log))
        servers.append(srv)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
