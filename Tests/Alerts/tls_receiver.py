"""A webhook receiver over TLS for the tests: answers 204 to every POST and appends each body, one JSON line with
its Soot-Event header, to a file.

Usage: python3 tls_receiver.py CERT KEY OUTPUT   (prints the port it listens on, on 127.0.0.1, then serves)
"""
import http.server
import json
import ssl
import sys

cert, key, output = sys.argv[1:4]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(output, "a") as handle:
            handle.write(json.dumps({"event": self.headers.get("Soot-Event"), "body": body.decode()}) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *arguments):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
