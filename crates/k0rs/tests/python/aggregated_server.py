"""A minimal aggregated API server for k0rs's aggregation test: serves group things.k0rs.io/v1
over TLS, accepts only clients with a certificate from the front-proxy CA, and answers a list of
one Thing that records who the request came from (X-Remote-User/-Group, the client certificate).

usage: aggregated_server.py <cert> <key> <front-proxy-ca>; prints its port, then serves."""

import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GROUP_VERSION = "things.k0rs.io/v1"


class Handler(BaseHTTPRequestHandler):
    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/apis/" + GROUP_VERSION:
            return self.send_json(200, {
                "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
                "resources": [{"name": "things", "singularName": "thing", "namespaced": True,
                               "kind": "Thing", "verbs": ["get", "list"]}],
            })
        if path.startswith("/apis/%s/namespaces/" % GROUP_VERSION) and path.endswith("/things"):
            peer = dict(x[0] for x in self.connection.getpeercert()["subject"])
            seen = {
                "user": self.headers.get("X-Remote-User"),
                "groups": self.headers.get_all("X-Remote-Group") or [],
                "authorization": self.headers.get("Authorization"),
                "peer": peer.get("commonName"),
            }
            return self.send_json(200, {
                "kind": "ThingList", "apiVersion": GROUP_VERSION, "metadata": {},
                "items": [{"kind": "Thing", "apiVersion": GROUP_VERSION,
                           "metadata": {"name": "seen", "namespace": "default"}, "spec": seen}],
            })
        self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "reason": "NotFound", "code": 404})

    def log_message(self, *args):
        pass


def main():
    cert, key, ca = sys.argv[1:4]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(ca)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
