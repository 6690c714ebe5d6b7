#!/usr/bin/env python3
"""Helpers for the load comparison (benches/load/run.sh), standard library only.

  client.py login URL EMAIL        signs in through the gateway's real login interception:
                                   the password at the origin's /login, then TOTP enrolment
                                   on the gateway's pages with a code computed from the setup
                                   key; prints the Cookie header of the signed-in session.
  client.py idle URL N COOKIE PIDS... opens N TLS keep-alive connections (one request each),
                                   prints the proxy's RSS before, with them open, and during
                                   the 30 s after they close, as JSON.
"""

import base64
import hashlib
import hmac
import html
import json
import re
import socket
import ssl
import struct
import sys
import time
import urllib.parse


def _context():
    # The bench's self-signed certificate: the client measures the proxies, not TLS trust.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


CONTEXT = _context()


def tls(host, port):
    raw = socket.create_connection((host, port))
    return CONTEXT.wrap_socket(raw, server_hostname=host)


def request(url, method="GET", body=None, cookies=None, ctype=None):
    """One HTTP/1.1 request on its own connection; returns (status, headers, body)."""
    u = urllib.parse.urlsplit(url)
    conn = tls(u.hostname, u.port)
    path = u.path + ("?" + u.query if u.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {u.netloc}", "Connection: close",
             f"Origin: {u.scheme}://{u.netloc}"]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    data = body.encode() if body else b""
    if body is not None:
        lines += [f"Content-Type: {ctype}", f"Content-Length: {len(data)}"]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
    raw = b""
    while chunk := conn.recv(65536):
        raw += chunk
    conn.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    headers = [tuple(h.decode().split(": ", 1)) for h in head.split(b"\r\n")[1:]]
    for name, value in headers:
        if name.lower() == "set-cookie" and cookies is not None:
            k, _, v = value.split(";")[0].partition("=")
            if v and "max-age=0" not in value.lower():
                cookies[k] = v
            else:
                cookies.pop(k, None)
    return status, headers, rest.decode(errors="replace")


def totp(secret, now):
    counter = struct.pack(">Q", int(now) // 30)
    mac = hmac.new(secret, counter, hashlib.sha1).digest()
    at = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[at:at + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def login(url, email):
    jar = {}
    body = json.dumps({"email": email, "password": "bench"})
    status, _, _ = request(url + "/login", "POST", body, jar, "application/json")
    assert status == 200, f"login answered {status}"
    _, _, page = request(url + "/.mfagate/enroll", cookies=jar)
    key = re.search(r'id="setup-key">([^<]+)<', page).group(1)
    key = html.unescape(key).replace(" ", "").replace("-", "").upper()
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    csrf = html.unescape(re.search(r'name="csrf" value="([^"]+)"', page).group(1))
    form = urllib.parse.urlencode({"csrf": csrf, "code": totp(secret, time.time())})
    status, _, page = request(url + "/.mfagate/enroll", "POST", form, jar,
                              "application/x-www-form-urlencoded")
    assert status == 200, f"enrolment answered {status}"
    csrf = html.unescape(re.search(r'name="csrf" value="([^"]+)"', page).group(1))
    form = urllib.parse.urlencode({"csrf": csrf})
    status, _, _ = request(url + "/.mfagate/continue", "POST", form, jar,
                           "application/x-www-form-urlencoded")
    assert status in (302, 303), f"continue answered {status}"
    status, _, page = request(url + "/page.html", cookies=jar)
    assert status == 200, f"the signed-in page answered {status}: {page} (cookies {list(jar)})"
    print("; ".join(f"{k}={v}" for k, v in jar.items()))


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            total += int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    return total


def idle(url, n, cookie, pids):
    u = urllib.parse.urlsplit(url)
    req = (f"GET /page.html HTTP/1.1\r\nHost: {u.netloc}\r\nCookie: {cookie}\r\n\r\n").encode()
    before = rss_kib(pids)
    conns = []
    for _ in range(n):
        c = tls(u.hostname, u.port)
        c.sendall(req)
        got = b""
        while b"\r\n\r\n" not in got or len(got) < 1024:
            got += c.recv(65536)
        conns.append(c)
    time.sleep(2)
    held = rss_kib(pids)
    for c in conns:
        c.close()
    after = []
    for _ in range(30):
        time.sleep(1)
        after.append(rss_kib(pids))
    print(json.dumps({"before_kib": before, "open_kib": held, "after_kib": after,
                      "per_connection_kib": (held - before) / n}))


if __name__ == "__main__":
    if sys.argv[1] == "login":
        login(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "idle":
        idle(sys.argv[2], int(sys.argv[3]), sys.argv[4], [int(p) for p in sys.argv[5:]])
