"""A real HTTP receiver on 127.0.0.1 in a thread: answers with the codes it is told."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receiver:
    url: str
    codes: list[int] = field(default_factory=list)  # answers in order; then 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def receiving(codes: list[int] | None = None) -> Iterator[Receiver]:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            me = holder[0]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            me.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            code = me.codes.pop(0) if me.codes else 200
            answer = f"answer {code} " + "x" * 600
            self.send_response(code)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Receiver(f"http://127.0.0.1:{server.server_port}/hook", list(codes or [])))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
