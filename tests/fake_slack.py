"""A small stand-in for Slack's Web API on 127.0.0.1: records every call and answers like Slack.

Reached through the real clients' base URL (SLACK_API_BASE_URL). Knows a few users (id -> e-mail),
opens DM channels "D<user id>", hands out increasing message timestamps, and can be told to
answer the next call of a method with an error (``channel_not_found``) or a 429 with Retry-After,
and can refuse a token for good (``refuse``: the app was uninstalled, the token revoked).

It also serves the ``response_url`` Slack sends with every slash command and block action
(``/commands/...`` and ``/actions/...``): a JSON POST with ``text``, ``blocks``, ``response_type``
(ephemeral unless ``in_channel``) and ``replace_original`` / ``delete_original`` (the message the
action came from), answered ``ok``; each URL takes at most five messages (then 404 ``used_url``).
Those posts are recorded as calls of the method ``response_url`` with the channel and user the
command or action came from (and ``replaces``: the ts of the message replaced).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

TEAM = "T0PROCURE"
BOT_USER = "UBOTPROCURE"
RESPONSE_URL_USES = 5  # Slack: "You can use a response_url five times within 30 minutes"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered


@dataclass
class FakeSlack:
    users: dict[str, str] = field(default_factory=dict)  # Slack user id -> e-mail
    calls: list[Call] = field(default_factory=list)
    # per method: (which calls it applies to, status, body, headers), answered in order
    _errors: dict[str, list[tuple[Callable[[dict[str, Any]], bool], int, dict[str, Any], dict[str, str]]]] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Any = field(default_factory=lambda: itertools.count(1))
    refused: dict[str, str] = field(default_factory=dict)  # token -> the error every call with it gets
    hooks_url: str = ""  # http://127.0.0.1:<port>: where response URLs point (set by FakeSlackServer)
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # response_url path -> where it answers
    # files people shared: url_private path -> (mimetype, bytes); served only with a token, as Slack does
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    _file_ids: Any = field(default_factory=lambda: itertools.count(1))

    # ------------------------------------------------------------------ scripting
    def share(self, name: str, mimetype: str, data: bytes, *, size: int | None = None) -> dict[str, Any]:
        """A file someone shares: the file object Slack puts in a file_share message's `files` (the fields an app
        reads), its bytes served at url_private_download to a request carrying a token."""
        file_id = f"F{next(self._file_ids):08d}"
        path = f"/files-pri/{TEAM}-{file_id}/download/{urllib.parse.quote(name)}"
        self.files[path] = (mimetype, data)
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1].lower(),
            "size": len(data) if size is None else size,
            "mode": "hosted",
            "is_external": False,
            "url_private": self.hooks_url + path.replace("/download/", "/"),
            "url_private_download": self.hooks_url + path,
        }

    def file(self, path: str, token: str | None) -> tuple[int, str, bytes]:
        """GET of a file URL: its bytes with a token Slack accepts; without one, Slack's sign-in page (200, HTML)."""
        with self._lock:
            self.calls.append(Call("files-pri", {"path": path}, token, time.monotonic()))
        found = self.files.get(path)
        if token and token not in self.refused and found is not None:
            return 200, found[0], found[1]
        if found is None:
            return 404, "text/plain", b"not found"
        return 200, "text/html; charset=utf-8", b"<!DOCTYPE html><html><title>Slack</title>Sign in</html>"

    def fail_next(
        self, method: str, error: str, *, times: int = 1, when: Callable[[dict[str, Any]], bool] | None = None
    ) -> None:
        """The next `times` calls of `method` (those `when` accepts, given the call's arguments) answer
        {"ok": false, "error": error}; nothing is posted for them."""
        with self._lock:
            self._errors.setdefault(method, []).extend([(when or _any, 200, {"ok": False, "error": error}, {})] * times)

    def refuse(self, token: str, error: str = "token_revoked") -> None:
        """Every later call with `token` answers {"ok": false, "error": error}, as after an uninstall."""
        with self._lock:
            self.refused[token] = error

    def rate_limit_next(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls of `method` answer 429 with Retry-After, as Slack does past its rate tier."""
        with self._lock:
            self._errors.setdefault(method, []).extend(
                [(_any, 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})] * times
            )

    def hook(self, kind: str, *, channel: str, user: str, message_ts: str | None = None) -> str:
        """A new response_url for a slash command (`kind` "commands") or an action ("actions") in `channel` by
        `user`; `message_ts` is the message the action came from (what replace_original replaces)."""
        with self._lock:
            number = len(self.hooks) + 1
            path = f"/{kind}/{TEAM}/{number}/{hashlib.sha1(str(number).encode()).hexdigest()[:12]}"
            self.hooks[path] = {"channel": channel, "user": user, "message_ts": message_ts, "uses": 0}
        return self.hooks_url + path

    def respond(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        """A POST to a response_url: recorded as a `response_url` call; ``ok``, or 404 with Slack's error."""
        with self._lock:
            hook = self.hooks.get(path)
            args = {**body, "channel": (hook or {}).get("channel"), "user": (hook or {}).get("user")}
            call = Call("response_url", args, None, time.monotonic())
            self.calls.append(call)
            queued = self._errors.get("response_url") or []
            if queued:
                _, status, error, _ = queued.pop(0)
                call.result = error
                return 404, str(error.get("error"))
            if hook is None or hook["uses"] >= RESPONSE_URL_USES:
                call.result = {"ok": False, "error": "used_url" if hook else "invalid_url"}
                return 404, call.result["error"]
            hook["uses"] += 1
            replaces = hook["message_ts"] if body.get("replace_original") or body.get("delete_original") else None
            if replaces:
                args["replaces"] = replaces
            call.result = {"ok": True, "ts": replaces or self._next_ts()}
            return 200, "ok"

    # ------------------------------------------------------------------ reading what happened
    def of(self, method: str, **match: Any) -> list[Call]:
        with self._lock:
            calls = list(self.calls)
        return [c for c in calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())]

    def delivered(self, method: str, **match: Any) -> list[Call]:
        """The calls of `method` Slack carried out (answered ok): a failed chat.postMessage posted nothing."""
        return [c for c in self.of(method, **match) if c.result.get("ok")]

    def texts_to(self, channel: str) -> list[str]:
        return [c.args.get("text", "") for c in self.of("chat.postMessage", channel=channel)]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    # ------------------------------------------------------------------ answering
    def answer(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        call = Call(method, args, token, time.monotonic())
        with self._lock:
            self.calls.append(call)
            if token in self.refused:
                call.result = {"ok": False, "error": self.refused[token]}
                return 200, call.result, {}
            queued = self._errors.get(method) or []
            hit = next((i for i, entry in enumerate(queued) if entry[0](args)), None)
            if hit is not None:
                _, status, body, headers = queued.pop(hit)
                call.result = body
                return status, body, headers
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if token is None and method not in ("oauth.v2.access",):
            result = {"ok": False, "error": "not_authed"}
        elif handler is None:
            result = {"ok": False, "error": "unknown_method"}
        else:
            result = handler(args)
        call.result = result
        return 200, result, {}

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://procure.example.slack.com/",
            "team": "Lone Star",
            "user": "procurebot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": "BPROCURE",
            "is_enterprise_install": False,
        }

    socket_url: str = ""  # where apps.connections.open sends Socket Mode (a FakeSocketMode)

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_url:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_url}

    def _oauth_v2_access(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("code") != "good-code":
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "app_id": "APROCURE",
            "authed_user": {"id": "UINSTALLER"},
            "token_type": "bot",
            "scope": "chat:write,commands,im:history",
            "access_token": f"xoxb-installed-{TEAM}",
            "bot_user_id": BOT_USER,
            "team": {"id": TEAM, "name": "Lone Star"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        if not channel or channel.startswith("CMISSING"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if blocks and len(blocks) > 50:
            return {"ok": False, "error": "invalid_blocks", "errors": ["no more than 50 items allowed"]}
        ts = self._next_ts()
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": {"text": args.get("text"), "ts": ts, "blocks": blocks or [], "thread_ts": args.get("thread_ts")},
        }

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": args.get("channel"), "ts": args["ts"], "text": args.get("text", "")}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        if channel.startswith("CMISSING"):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = args.get("users", "")
        if users not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + users}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user", "")
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": TEAM,
                "name": user.lower(),
                "profile": {"email": self.users[user], "real_name": user},
            },
        }

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = (args.get("email") or "").lower()
        for user, address in self.users.items():
            if address.lower() == email:
                return {"ok": True, "user": {"id": user, "team_id": TEAM, "profile": {"email": address}}}
        return {"ok": False, "error": "users_not_found"}

    def _view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if view and len(view.get("blocks", [])) > 100:
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {**(view or {}), "id": "V" + self._next_ts().replace(".", "")}}

    _views_open = _view
    _views_update = _view
    _views_publish = _view
    _views_push = _view


def _any(args: dict[str, Any]) -> bool:
    return True


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _args(self) -> dict[str, Any]:
        parsed = urllib.parse.urlsplit(self.path)
        args: dict[str, Any] = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        kind = self.headers.get("Content-Type", "")
        if body and "json" in kind:
            args.update(json.loads(body))
        elif body:
            args.update({k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()})
        return args

    def _serve(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith(("/commands/", "/actions/")):
            status, text = self.fake.respond(path, self._args())
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if path.startswith("/files-pri/"):
            auth = self.headers.get("Authorization", "")
            status, kind, data = self.fake.file(path, auth.removeprefix("Bearer ").strip() or None)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        method = path.rsplit("/", 1)[-1]
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or None
        args = self._args()
        token = token or args.pop("token", None)
        status, body, headers = self.fake.answer(method, args, token)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve
    do_POST = _serve


class FakeSlackServer:
    """Run a FakeSlack on 127.0.0.1 (a free port); `base_url` is what SLACK_API_BASE_URL gets."""

    def __init__(self, fake: FakeSlack | None = None) -> None:
        self.fake = fake or FakeSlack()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-slack", daemon=True)
        self.fake.hooks_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def __enter__(self) -> FakeSlack:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request: v0 HMAC-SHA256 of "v0:<timestamp>:<body>"."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class FakeSocketMode:
    """Slack's Socket Mode end on 127.0.0.1: says hello to the app's WebSocket, sends envelopes, records acks."""

    def __init__(self) -> None:
        import asyncio

        self.loop = asyncio.new_event_loop()
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self.acked = threading.Condition()
        self._socket: Any = None
        self.url = ""
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-socket-mode", daemon=True)

    def __enter__(self) -> "FakeSocketMode":
        import asyncio

        from aiohttp import web

        async def link(request: web.Request) -> web.WebSocketResponse:
            socket = web.WebSocketResponse()
            await socket.prepare(request)
            self._socket = socket
            await socket.send_json(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "fake"},
                    "connection_info": {"app_id": "APROCURE"},
                }
            )
            self.connected.set()
            async for message in socket:
                data = json.loads(message.data)
                with self.acked:
                    self.acks.append(data)
                    self.acked.notify_all()
            return socket

        async def start() -> str:
            app = web.Application()
            app.router.add_get("/link", link)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self._runner = runner
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            return f"ws://127.0.0.1:{port}/link"

        self.thread.start()
        self.url = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        return self

    def send(self, envelope: dict[str, Any], *, wait: float = 10) -> dict[str, Any] | None:
        """Send one envelope and wait for the app's acknowledgement of it (None if none came)."""
        import asyncio

        assert self.connected.wait(wait), "the app never connected"
        asyncio.run_coroutine_threadsafe(self._socket.send_json(envelope), self.loop).result(wait)
        with self.acked:
            self.acked.wait_for(
                lambda: any(a.get("envelope_id") == envelope["envelope_id"] for a in self.acks), timeout=wait
            )
            return next((a for a in self.acks if a.get("envelope_id") == envelope["envelope_id"]), None)

    def __exit__(self, *exc: Any) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
