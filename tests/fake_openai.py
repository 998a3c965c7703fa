"""A local OpenAI-compatible server for the LLM tests and the bench, on 127.0.0.1 with a random port.

It speaks the chat-completions wire format the openai client's `chat.completions.parse` expects
(POST /v1/chat/completions with a json_schema response_format; a `chat.completion` object back,
with `usage`). By default it answers like a small, sensible model: the category whose keywords
best match the item text, and a summary made of the facts' own sentences. It can be told what
to do with the coming requests:
    fake.script += ["invalid_json", "refusal", "429", "500", "wrong_shape", "slow", {"category": "it_hardware", ...}]
and `fake.latency` (seconds) delays every answer (the bench sets 0.8).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Step = str | dict[str, Any]


def _json_block(text: str, after: str) -> Any:
    """The JSON value that follows the line `after` in a prompt's user message."""
    start = text.index(after) + len(after)
    return json.JSONDecoder().raw_decode(text[start:].lstrip())[0]


def sensible_classify(user: str) -> dict[str, Any]:
    """Pick the category whose code, name words or keywords appear most in the item text."""
    categories = _json_block(user, "Categories (JSON):")
    item = str(_json_block(user, "Item text (JSON string):")).lower()
    words = set(re.findall(r"[a-z0-9]+", item))
    stems = {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words}
    best, score = "unknown", 0
    for cat in categories:
        vocab = {k.lower() for k in cat.get("keywords", [])} | {cat["code"]}
        hits = sum(1 for k in vocab if (k in item if " " in k else (k in words or k in stems)))
        if hits > score:
            best, score = cat["code"], hits
    return {"category": best, "confidence": 0.9 if score else 0.3, "reason": "keywords in the item text"}


def sensible_summary(user: str) -> dict[str, Any]:
    facts = _json_block(user, "Facts (JSON):")
    sentences = [s["text"] for s in facts.get("exceptions", [])][:3]
    return {"summary": " ".join(sentences) or "Nothing unusual."}


class FakeOpenAI:
    """Start with `with FakeOpenAI() as fake:`; point the client at `fake.base_url`."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.gate: threading.Event | None = None  # when set, every answer waits until the test opens it
        self.script: list[Step] = []
        self.requests: list[dict[str, Any]] = []
        self.responders: dict[str, Callable[[str], dict[str, Any]]] = {
            "classify": sensible_classify,
            "summary": sensible_summary,
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def setup(self) -> None:
                super().setup()
                # headers and body go out as two writes; without this the body waits for a delayed ACK
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:  # noqa: N802 - the http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                    step = fake.script.pop(0) if fake.script else None
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "no such route", "type": "invalid_request_error"}})
                    return
                if fake.gate is not None:
                    fake.gate.wait(30)
                delay = fake.latency + (30.0 if step == "slow" else 0.0)
                if delay:
                    fake._stop.wait(delay)
                if step in ("429", "500"):
                    code = int(step)  # type: ignore[arg-type]
                    self._send(
                        code,
                        {
                            "error": {
                                "message": "injected",
                                "type": "rate_limit_exceeded" if code == 429 else "server_error",
                                "code": None,
                            }
                        },
                        {"retry-after-ms": "10"} if code == 429 else {},
                    )
                    return
                self._send(200, fake.completion(body, step))

            def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def completion(self, body: dict[str, Any], step: Step | None) -> dict[str, Any]:
        """A chat.completion object for this request, shaped by the scripted step (or the sensible default)."""
        messages = body.get("messages", [])
        user = next((m["content"] for m in messages if m.get("role") == "user"), "")
        content: str | None
        refusal = None
        if step == "refusal":
            content, refusal = None, "I'm sorry, I can't help with that."
        elif step == "invalid_json":
            content = '{"category": "packaging", "confidence": 0.9, '  # cut off mid-object
        elif step == "wrong_shape":
            content = json.dumps({"answer": "packaging"})
        elif isinstance(step, dict):
            content = json.dumps(step)
        else:
            kind = "classify" if "Categories (JSON):" in user else "summary"
            content = json.dumps(self.responders[kind](user))
        prompt_tokens = max(1, sum(len(str(m.get("content", ""))) for m in messages) // 4)
        completion_tokens = max(1, len(content or refusal or "") // 4)
        return {
            "id": f"chatcmpl-fake{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "system_fingerprint": "fake",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "logprobs": None,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
