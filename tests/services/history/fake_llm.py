"""A local stand-in for an OpenAI-compatible chat-completions endpoint: a real HTTP server on a free port.

`POST /v1/chat/completions` answers `reply` as one JSON completion, or as server-sent events (`data: {chunk}` ...
`data: [DONE]`) when the request says `"stream": true`. `mode` acts out failures: "error" (HTTP 500),
"garbage" (200 with a body that is no completion), "slow" (answers after `delay_s`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeLlm:
    reply: str = "第一行\n第二行"
    mode: str = "ok"
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if fake.mode == "slow":
                    time.sleep(fake.delay_s)
                if self.path != "/v1/chat/completions" or fake.mode == "error":
                    self._send(500, "application/json", b'{"error": {"message": "boom"}}')
                elif fake.mode == "garbage":
                    self._send(200, "application/json", b'{"nothing": true}')
                elif body.get("stream"):
                    self._stream(fake.reply)
                else:
                    completion = {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": fake.reply},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                    self._send(200, "application/json", json.dumps(completion).encode())

            def _send(self, status: int, kind: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
                chunks = [{"role": "assistant"}] + [{"content": piece} for piece in pieces]
                for delta in chunks:
                    chunk = {
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": delta}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler


@contextmanager
def running(fake: FakeLlm) -> Iterator[FakeLlm]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake._handler())
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
