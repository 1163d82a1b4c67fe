"""exec over WebSocket with the Python client in every channel.k8s.io version it can be asked to
offer: an interactive session (a line to stdin, a line back from stdout) ended by `exit 3`, and
what the error channel said; a terminal resize seen by `stty size`. Prints what it saw as JSON.

Usage: exec_streams.py KUBECONFIG POD ATTACHABLE_POD (a pod whose container runs `sh` with stdin open)"""

import base64
import json
import sys
import time

from kubernetes import client, config
from kubernetes.stream import stream

config.load_kube_config(sys.argv[1])
api = client.CoreV1Api()
POD = sys.argv[2]
ATTACHABLE = sys.argv[3]
TIMEOUT = 30


def session(protocol, tty=False):
    """An interactive `sh` in the pod; `protocol` as the only one offered, or the client's own
    offer when None."""
    headers = {"sec-websocket-protocol": protocol} if protocol else None
    return stream(
        api.connect_get_namespaced_pod_exec,
        POD,
        "default",
        command=["sh"],
        stdin=True,
        stdout=True,
        stderr=not tty,
        tty=tty,
        _preload_content=False,
        _headers=headers,
    )


class Binary:
    """Channels as the client reads and writes them."""

    def __init__(self, ws):
        self.ws = ws

    def write(self, text):
        self.ws.write_stdin(text)

    def readline(self):
        return self.ws.readline_stdout(timeout=TIMEOUT)

    def status(self):
        return self.ws.read_channel(3)


def unbase64(text):
    """The data of base64 messages the client has run together: each message is whole groups of
    four characters, so group by group decodes across their boundaries."""
    return b"".join(base64.b64decode(text[i : i + 4]) for i in range(0, len(text), 4)).decode()


class Base64:
    """The base64 protocols: the channel as a digit, the data base64-encoded; the client passes
    both through as they are, so this side encodes and decodes."""

    def __init__(self, ws):
        self.ws = ws
        self.stdout = ""

    def write(self, text):
        self.ws.write_channel(ord("0"), base64.b64encode(text.encode()).decode())

    def readline(self):
        deadline = time.time() + TIMEOUT
        while "\n" not in self.stdout and self.ws.is_open() and time.time() < deadline:
            self.ws.update(timeout=deadline - time.time())
            self.stdout += unbase64(self.ws.read_channel(ord("1")))
        line, _, self.stdout = self.stdout.partition("\n")
        return line

    def status(self):
        return unbase64(self.ws.read_channel(ord("3")))


def exchange(protocol):
    ws = session(protocol)
    io = Base64(ws) if protocol and "base64" in protocol else Binary(ws)
    io.write("echo hello from $0\n")
    line = io.readline()
    io.write("exit 3\n")
    ws.run_forever(timeout=TIMEOUT)
    seen = {
        "subprotocol": ws.subprotocol,
        "line": line,
        "open": ws.is_open(),
        "status": io.status(),
    }
    ws.close()
    return seen


def resize():
    ws = session("v4.channel.k8s.io", tty=True)
    ws.write_channel(4, json.dumps({"Width": 123, "Height": 45}))
    # The runtime applies a resize apart from stdin: ask until the terminal has its new size.
    seen = ""
    deadline = time.time() + TIMEOUT
    while "45 123" not in seen and time.time() < deadline:
        ws.write_stdin("stty size\n")
        ws.update(timeout=1)
        seen += ws.read_stdout(timeout=0)
    ws.write_stdin("exit\n")
    ws.run_forever(timeout=TIMEOUT)
    ws.close()
    return {"sized": "45 123" in seen, "returncode": ws.returncode}


def default_offer():
    """The client's own offer (v5 then v4), as its users write it: write_stdin, readline_stdout,
    then the exit code from returncode."""
    ws = session(None)
    ws.write_stdin("echo interactive\n")
    line = ws.readline_stdout(timeout=TIMEOUT)
    ws.write_stdin("exit 7\n")
    ws.run_forever(timeout=TIMEOUT)
    seen = {"subprotocol": ws.subprotocol, "line": line, "returncode": ws.returncode}
    ws.close()
    return seen


def attach():
    """attach to a container's own `sh` (stdin kept open), over the client's own offer."""
    ws = stream(
        api.connect_get_namespaced_pod_attach,
        ATTACHABLE,
        "default",
        stdin=True,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
    )
    ws.write_stdin("echo attached to $0\n")
    line = ws.readline_stdout(timeout=TIMEOUT)
    seen = {"subprotocol": ws.subprotocol, "line": line}
    ws.close()
    return seen


protocols = [
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "v5.channel.k8s.io",
]
print(
    json.dumps(
        {
            "default": default_offer(),
            "protocols": {p: exchange(p) for p in protocols},
            "resize": resize(),
            "attach": attach(),
        }
    )
)
