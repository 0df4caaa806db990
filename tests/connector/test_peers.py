"""The peer client on real loopback servers: JSON both ways, one kept-alive connection reused, a connection the peer
closed is replaced transparently, redirects are not followed, failures are PeerErrors."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connector.peers import PeerClient, PeerError


class Server:
    """A keep-alive HTTP/1.1 server from the standard library (as served nodes keep connections alive)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, object, int]] = []   # method, path, json, client port
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, status: int, body: bytes, ctype: str = "application/json", **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(n) or b"null")
                path = self.path.split("?")[0]
                outer.requests.append((self.command, path, body, self.client_address[1]))
                if path == "/redirect":
                    self._answer(302, b"", Location="/elsewhere")
                elif path == "/text":
                    self._answer(200, b"plain words", "text/plain")
                elif path == "/close":   # answer, then close the connection
                    self.close_connection = True
                    self._answer(200, b'{"closing": true}', Connection="close")
                else:
                    answer = {"echo": body, "auth": self.headers.get("Authorization")}
                    self._answer(201, json.dumps(answer).encode())

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.stop()


def test_json_round_trip_with_token_on_one_connection(server):
    client = PeerClient()
    base = f"http://127.0.0.1:{server.port}"
    for i in range(3):
        status, body = client.request("POST", f"{base}/m?x={i}", token="T", json={"n": i, "é": "été"})
        assert status == 201 and body == {"echo": {"n": i, "é": "été"}, "auth": "Bearer T"}
    ports = {r[3] for r in server.requests}
    assert len(ports) == 1, "the three messages travelled on one kept-alive connection"
    client.close()


def test_a_connection_closed_by_the_peer_is_replaced(server):
    client = PeerClient()
    base = f"http://127.0.0.1:{server.port}"
    assert client.request("GET", f"{base}/close")[1] == {"closing": True}
    assert client.request("POST", f"{base}/after", json={"a": 1})[0] == 201
    # the idle connection dies on the peer's side (restart, keep-alive timeout): the next call still goes through
    lean = client._lean
    conn = next(iter(lean._local.pool.values()))
    conn.sock.shutdown(socket.SHUT_RDWR)
    assert client.request("POST", f"{base}/again", json={"b": 2})[0] == 201
    assert [r[1] for r in server.requests] == ["/close", "/after", "/again"]
    client.close()


def test_redirects_are_returned_not_followed_and_text_is_text(server):
    client = PeerClient()
    base = f"http://127.0.0.1:{server.port}"
    assert client.request("GET", f"{base}/redirect")[0] == 302
    assert client.request("GET", f"{base}/text") == (200, "plain words")
    assert [r[1] for r in server.requests] == ["/redirect", "/text"]


def test_unreachable_and_malformed_addresses_are_peer_errors():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]   # nobody listens there once the socket closes
    client = PeerClient()
    with pytest.raises(PeerError):
        client.request("POST", f"http://127.0.0.1:{port}/x", json={})
    with pytest.raises(PeerError):
        client.request("GET", "ftp://127.0.0.1/x")
