#!/usr/bin/env python3
"""server.py — a fault-injecting HTTP/1.1 server for hostile-server tests.

Serves a folder (GET and HEAD, single Range requests answered 206 with
Content-Range, 416 when unsatisfiable) on 127.0.0.1 on a free port, and
misbehaves on the URL paths a rule names. Python 3 standard library only.

    server.py --root SITE [--port-file F] [--log F] [--lifetime S]
              [--fault 'PATTERN=FAULT[,KEY=VALUE...]']... [--rules RULES.json]

  --root SITE      the folder served (a path '..' or outside it is 404)
  --port-file F    the chosen port is written to F (atomically) and to stdout
  --log F          one line a request: "GET /path range=bytes=0- fault=NAME
                   status=200"; the faults that send for a long time add an
                   "end /path fault=NAME sent=N reason" line when they stop
  --lifetime S     stop by itself after S seconds (default 120, at most 3600);
                   SIGTERM and SIGINT stop it too
  --fault SPEC     PATTERN=FAULT[,KEY=VALUE...]; repeatable, first match wins
  --rules F        a JSON list of rules: [{"path": PATTERN, "fault": FAULT,
                   "times": N, KEY: VALUE...}], checked after --fault rules

PATTERN is a glob on the URL path (fnmatch: '*' also matches '/'), e.g.
'/objects/*', or 're:REGEX' (re.search), e.g. 're:\\.minisig$'.
times=N (any fault): only the first N matching requests get the fault; later
ones fall through to the next rule or are served normally ("fail twice, then
succeed": status,times=2).

FAULT and its KEYs:
  truncate      send at=BYTES of the body (default half), then close
  lie-length    Content-Length is by=N off (default +1000; negative: smaller
                than the body); the whole body is sent, then the connection closes
  flip          XOR xor=MASK (default 255) into n=COUNT bytes (default 1) at file
                offset at=BYTES (default the middle); a Range gets the same bytes
  status        answer code=NNN (default 503) with a short body
  redirect      code=30x (default 302); hops=K: a chain of K redirects
                (through /__hop/...) ending at the real file; loop=1: an endless
                loop (/__loop/a/... <-> /__loop/b/...); to=URL: one redirect to
                URL, '{path}' in URL is replaced by the request path (another
                host or port, file:///...)
  endless       200, chunked, a body that never ends: stops when the client
                hangs up or after cap=BYTES (default 64 MiB, at most 1 GiB)
  gzip-bomb     Content-Encoding: gzip; the body is a valid gzip stream of
                mib=N MiB of zeros (default 1024, at most 16384; ~1 KB a MiB)
  stall         send the headers (and after=BYTES of body, default 0), then
                nothing for secs=S (default: until the server stops), then close
  drip          send the body n=BYTES (default 1) every ms=MS (default 100)
  huge-headers  size=BYTES (default 1 MiB) of extra header lines, then the file
  ignore-range  always 200 and the whole file, whatever the Range
  wrong-range   a Range request gets 206 but the bytes (and Content-Range)
                from offset 0: a server that answers the wrong part

Every fault that breaks the framing closes the connection afterwards. Files
are read whole into memory: this is for small test sites.
"""
import argparse
import fnmatch
import http.server
import json
import os
import re
import signal
import sys
import threading
import urllib.parse
import zlib

FAULTS = {"truncate", "lie-length", "flip", "status", "redirect", "endless", "gzip-bomb",
          "stall", "drip", "huge-headers", "ignore-range", "wrong-range"}
STOP = threading.Event()
LOG_LOCK = threading.Lock()
CHUNK = 64 * 1024


class Rule:
    def __init__(self, pattern, fault, params):
        if fault not in FAULTS:
            raise ValueError("unknown fault %r (known: %s)" % (fault, ", ".join(sorted(FAULTS))))
        self.pattern, self.fault, self.params = pattern, fault, dict(params)
        self.times = self.params.pop("times", None)
        self.used = 0
        self.regex = re.compile(pattern[3:]) if pattern.startswith("re:") else None

    def matches(self, path):
        if self.regex:
            return self.regex.search(path) is not None
        return fnmatch.fnmatchcase(path, self.pattern)

    def describe(self):
        kv = ",".join("%s=%s" % kv for kv in sorted(self.params.items()))
        return self.fault + ("(%s)" % kv if kv else "")


def parse_value(v):
    try:
        return int(v)
    except ValueError:
        return v


def parse_fault(spec):
    """'PATTERN=FAULT[,KEY=VALUE...]' -> Rule."""
    pattern, sep, rest = spec.partition("=")
    if not sep or not pattern or not rest:
        raise ValueError("--fault %r: expected PATTERN=FAULT[,KEY=VALUE...]" % spec)
    fault, *pairs = rest.split(",")
    params = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep:
            raise ValueError("--fault %r: %r is not KEY=VALUE" % (spec, p))
        params[k] = parse_value(v)
    return Rule(pattern, fault, params)


_BOMBS = {}


def gzip_bomb(mib):
    """A gzip stream of mib MiB of zeros: every MiB is the same full-flushed
    deflate segment: ~1 KB a MiB, made in well under a second a GiB."""
    if mib not in _BOMBS:
        zeros = bytes(1 << 20)
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        seg = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
        crc = 0
        for _ in range(mib):
            crc = zlib.crc32(zeros, crc)
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
        trailer = c.flush(zlib.Z_FINISH) + crc.to_bytes(4, "little") + \
            ((mib << 20) & 0xffffffff).to_bytes(4, "little")
        _BOMBS[mib] = header + seg * mib + trailer
    return _BOMBS[mib]


def parse_range(value, size):
    """(start, end) inclusive for a single 'bytes=' range; None: no usable
    Range (serve 200); 'bad': unsatisfiable (416)."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value or "")
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":
        n = int(m.group(2))
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else "bad"
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return "bad"
    return start, min(end, size - 1)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile/1"

    def log_message(self, fmt, *args):  # our own log only
        pass

    def log(self, line):
        if self.server.log_path:
            with LOG_LOCK, open(self.server.log_path, "a") as f:
                f.write(line + "\n")

    def do_GET(self):
        self.serve(head=False)

    def do_HEAD(self):
        self.serve(head=True)

    # -- helpers ------------------------------------------------------------
    def begin(self, code, headers, fault="-"):
        path = urllib.parse.urlsplit(self.path).path
        self.log("%s %s range=%s fault=%s status=%d" % (
            self.command, path, self.headers.get("Range", "-"), fault, code))
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def write(self, data):
        """False when the client hung up."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
            return False

    def simple(self, code, text, fault="-", extra=()):
        body = text.encode()
        self.begin(code, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
                   + list(extra), fault)
        if self.command != "HEAD":
            self.write(body)

    def finish_long(self, path, fault, sent, reason):
        self.log("end %s fault=%s sent=%d %s" % (path, fault, sent, reason))
        self.close_connection = True

    # -- the request --------------------------------------------------------
    def serve(self, head):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        m = re.match(r"/__hop/(\d+)(/.*)$", path)
        if m:  # a redirect chain: count down, then the real file, no fault
            n, rest = int(m.group(1)), m.group(2)
            if n > 0:
                return self.simple(302, "hop\n", "redirect-hop",
                                   [("Location", "/__hop/%d%s" % (n - 1, rest))])
            return self.send_file(rest, None)
        m = re.match(r"/__loop/([ab])(/.*)$", path)
        if m:
            nxt = "b" if m.group(1) == "a" else "a"
            return self.simple(302, "loop\n", "redirect-loop",
                               [("Location", "/__loop/%s%s" % (nxt, m.group(2)))])
        rule = None
        with self.server.rules_lock:
            for r in self.server.rules:
                if r.matches(path) and (r.times is None or r.used < r.times):
                    r.used += 1
                    rule = r
                    break
        self.send_file(path, rule)

    def send_file(self, path, rule):
        root = self.server.root
        fs = os.path.normpath(os.path.join(root, path.lstrip("/")))
        if "/../" in path + "/" or (fs != root and not fs.startswith(root + os.sep)):
            return self.simple(404, "not found\n")
        if os.path.isdir(fs):
            fs = os.path.join(fs, "index.html")
        try:
            with open(fs, "rb") as f:
                data = f.read()
        except OSError:
            return self.simple(404, "not found\n", rule.describe() if rule else "-")
        fault = rule.fault if rule else None
        p = rule.params if rule else {}
        name = rule.describe() if rule else "-"
        size = len(data)
        ctype = "application/json" if fs.endswith(".json") else "application/octet-stream"

        if fault == "status":
            return self.simple(int(p.get("code", 503)), "fault: status\n", name)
        if fault == "redirect":
            if p.get("loop"):
                loc = "/__loop/a" + path
            elif "to" in p:
                loc = str(p["to"]).replace("{path}", path)
            else:
                loc = "/__hop/%d%s" % (max(1, int(p.get("hops", 1))) - 1, path)
            return self.simple(int(p.get("code", 302)), "moved\n", name, [("Location", loc)])
        if fault == "huge-headers":
            pad = "a" * 100
            extra = [("X-Pad-%07d" % i, pad) for i in range(int(p.get("size", 1 << 20)) // 115 + 1)]
            self.begin(200, [("Content-Type", ctype), ("Content-Length", str(size))] + extra, name)
            if self.command != "HEAD":
                self.write(data)
            return
        if fault == "endless":
            cap = min(int(p.get("cap", 64 << 20)), 1 << 30)
            self.begin(200, [("Content-Type", ctype), ("Transfer-Encoding", "chunked")], name)
            block = (data or b"x") * (CHUNK // max(1, size) + 1)
            block = block[:CHUNK]
            sent, reason = 0, "cap reached"
            while sent < cap:
                if STOP.is_set():
                    reason = "server stopping"
                    break
                if not self.write(b"%x\r\n%s\r\n" % (len(block), block)):
                    reason = "client hung up"
                    break
                sent += len(block)
            return self.finish_long(path, name, sent, reason)
        if fault == "gzip-bomb":
            bomb = gzip_bomb(min(int(p.get("mib", 1024)), 16384))
            self.begin(200, [("Content-Type", ctype), ("Content-Encoding", "gzip"),
                             ("Content-Length", str(len(bomb)))], name)
            if self.command != "HEAD":
                self.write(bomb)
            return

        # A normal (or slightly bent) static answer.
        rng = None if fault == "ignore-range" else parse_range(self.headers.get("Range"), size)
        if rng == "bad":
            return self.simple(416, "range not satisfiable\n", name,
                               [("Content-Range", "bytes */%d" % size)])
        code, start, end = (200, 0, size - 1) if rng is None else (206, rng[0], rng[1])
        if fault == "wrong-range" and rng is not None:
            start, end = 0, end - rng[0]
        if fault == "flip":
            at = int(p.get("at", size // 2))
            buf, mask = bytearray(data), int(p.get("xor", 255)) & 0xFF
            for i in range(at, min(size, at + int(p.get("n", 1)))):
                buf[i] ^= mask
            data = bytes(buf)
        body = data[start:end + 1]
        length = len(body)
        if fault == "lie-length":
            length = max(0, length + int(p.get("by", 1000)))
        headers = [("Content-Type", ctype), ("Content-Length", str(length)),
                   ("Accept-Ranges", "bytes")]
        if code == 206:
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, size)))
        self.begin(code, headers, name)
        if self.command == "HEAD":
            return
        if fault == "truncate":
            self.write(body[:int(p.get("at", len(body) // 2))])
            self.close_connection = True
        elif fault == "stall":
            after = int(p.get("after", 0))
            self.write(body[:after])
            secs = p.get("secs")
            STOP.wait(None if secs is None else float(secs))
            self.finish_long(path, name, min(after, len(body)), "stall over")
        elif fault == "drip":
            step, ms, sent, reason = int(p.get("n", 1)), int(p.get("ms", 100)), 0, "done"
            while sent < len(body):
                if STOP.wait(ms / 1000.0):
                    reason = "server stopping"
                    break
                if not self.write(body[sent:sent + step]):
                    reason = "client hung up"
                    break
                sent += step
            self.finish_long(path, name, min(sent, len(body)), reason)
        else:
            self.write(body)
            if fault in ("lie-length", "flip", "wrong-range"):
                self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # a client hanging up is no error
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description="fault-injecting static HTTP server (see the docstring)")
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--rules")
    a = ap.parse_args()
    try:
        rules = [parse_fault(s) for s in a.fault]
        if a.rules:
            with open(a.rules) as f:
                for r in json.load(f):
                    r = dict(r)
                    rules.append(Rule(r.pop("path"), r.pop("fault"), r))
    except (ValueError, KeyError, OSError) as e:
        sys.exit("server.py: %s" % e)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.root = os.path.realpath(a.root)
    srv.rules, srv.rules_lock = rules, threading.Lock()
    srv.log_path = a.log

    def stop(*_):
        STOP.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(max(1.0, min(a.lifetime, 3600.0)), stop)
    timer.daemon = True
    timer.start()
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(a.port_file + ".tmp", a.port_file)
    print(port, flush=True)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()


if __name__ == "__main__":
    main()
