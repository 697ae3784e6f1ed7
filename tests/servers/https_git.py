#!/usr/bin/env python3
"""Smart HTTP over TLS for the transport tests: `git http-backend` behind a small HTTPS server
on 127.0.0.1 that checks basic authentication.

Usage: https_git.py ROOT CERT KEY USER PASSWORD READY_FILE

Serves the bare repositories under ROOT. Binds a free port and, once it listens, writes the port
to READY_FILE (written to a temporary name and renamed, so a reader never sees half of it).
Every request needs `Authorization: Basic` with USER and PASSWORD; the CGI bridge below runs
`git http-backend` for each request, since python's own CGI handler is deprecated and does not
pass a chunked request body on.
"""

import base64
import hmac
import http.server
import os
import ssl
import subprocess
import sys

# A request body larger than this is refused: the tests push a small fleet, and an unbounded
# read would let a broken client fill the memory.
MAX_BODY = 256 * 1024 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "vow-test-git/1"

    def do_GET(self):
        self.serve()

    def do_POST(self):
        self.serve()

    def log_message(self, fmt, *args):
        sys.stderr.write("https_git: " + (fmt % args) + "\n")

    def authorized(self):
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except ValueError:
            return False
        expected = (self.server.user + ":" + self.server.password).encode()
        return hmac.compare_digest(given, expected)

    def read_body(self):
        """The request body, plain or chunked; None when it is too large or malformed."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    # The trailer section ends with an empty line.
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_BODY:
                    return None
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY:
            return None
        return self.rfile.read(length)

    def serve(self):
        if not self.authorized():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="vow test"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = self.read_body() if self.command == "POST" else b""
        if body is None:
            self.send_error(413)
            return
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": self.server.user,
            "REMOTE_ADDR": self.client_address[0],
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        encoding = self.headers.get("Content-Encoding")
        if encoding:
            env["HTTP_CONTENT_ENCODING"] = encoding
        protocol = self.headers.get("Git-Protocol")
        if protocol:
            env["GIT_PROTOCOL"] = protocol
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120
        )
        if done.stderr:
            sys.stderr.write(done.stderr.decode(errors="replace"))
        head, sep, out = done.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, out = done.stdout.partition(b"\n\n")
        if not sep:
            self.send_error(502, "git http-backend wrote no headers")
            return
        status, headers = 200, []
        for line in head.decode(errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name.strip(), value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main():
    root, cert, key, user, password, ready = sys.argv[1:7]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.root, server.user, server.password = root, user, password
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, ready)
    server.serve_forever()


if __name__ == "__main__":
    main()
