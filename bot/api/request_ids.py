"""Every HTTP request gets an id: the caller's X-Request-ID when it is a plain token (a load balancer's), else a new
one. It is bound while the request runs (approvals.correlation: log lines, the jobs it creates, its audit events)
and returned in the response's X-Request-ID header."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from approvals import correlation

HEADER = b"x-request-id"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", ()) if k == HEADER), b"")
        request_id = correlation.accept(given.decode("latin-1") if given else None)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (HEADER, request_id.encode())]
            await send(message)

        with correlation.bound(request_id):
            await self.app(scope, receive, sending)
