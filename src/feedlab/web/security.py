"""What keeps the dashboard from becoming a door: token, bounded bodies, confined paths.

- :class:`TokenMiddleware`: when the server binds anything but loopback, every request must
  carry the token printed at start (``Authorization: Bearer``, ``X-Feedlab-Token``, the
  ``token`` query parameter, or the cookie set when a page was opened with that parameter).
- :class:`BodyLimitMiddleware`: bodies over the limit end in 413, whether or not they declare
  their length.
- :class:`SameOriginMiddleware`: on loopback, requests must name this machine in their
  ``Host`` header (no DNS rebinding) and state-changing requests from a browser must come from
  the dashboard's own pages (``Origin``), so another web site cannot drive it.
- :func:`confined`: a path inside the runs folder, resolved (symlinks followed) and checked to
  stay inside it, or an error.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_COOKIE = "feedlab_token"
TOKEN_HEADER = "x-feedlab-token"


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1 or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh random access token (192 bits)."""
    return secrets.token_urlsafe(24)


class PathRefused(Exception):
    """A requested path would leave the runs folder."""


def confined(root: Path, *parts: str) -> Path:
    """``root/parts...`` resolved, refusing anything that leaves ``root``.

    Each part must be a single plain name (no separators, no ``..``, not absolute); the joined
    path is resolved, following symlinks, and must still lie inside the resolved ``root``.

    Raises:
        PathRefused: naming the reason.
    """
    base = root.resolve()
    for part in parts:
        if not part or part in (".", "..") or "/" in part or "\\" in part or "\x00" in part:
            raise PathRefused(f"path part {part!r} is not a plain name.")
        if Path(part).is_absolute():
            raise PathRefused(f"path part {part!r} is absolute.")
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):
        raise PathRefused(f"path {'/'.join(parts)!r} leads outside the runs folder.")
    return target


async def _send_json(
    send: Send, status: int, detail: str, headers: list[Any] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TokenMiddleware:
    """Refuse (401) every request without the token; remember a valid query token in a cookie."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    def _given(self, scope: Scope) -> tuple[str | None, bool]:
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        if TOKEN_HEADER in headers:
            return headers[TOKEN_HEADER], False
        query = parse_qs(scope.get("query_string", b"").decode())
        if "token" in query:
            return query["token"][0], True
        for chunk in headers.get("cookie", "").split(";"):
            name, _, value = chunk.strip().partition("=")
            if name == TOKEN_COOKIE:
                return value, False
        return None, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on only if it carries the token."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given, from_query = self._given(scope)
        if given is None or not secrets.compare_digest(given.encode(), self.token.encode()):
            await _send_json(
                send,
                401,
                "this server needs its access token: open the URL printed by feedlab serve, or send it as 'Authorization: Bearer TOKEN'.",
            )
            return
        if not from_query:
            await self.app(scope, receive, send)
            return
        cookie = f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/".encode()

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", cookie)],
                }
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class BodyTooLarge(Exception):
    """A request body exceeded the limit while it was read."""


class BodyLimitMiddleware:
    """Answer 413 to any request whose body is larger than ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, cutting it off with 413 once its body exceeds the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body must be at most {self.limit} bytes."
        for key, value in scope.get("headers", []):
            if key.lower() == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, "content-length must be an integer.")
                    return
                if declared > self.limit:
                    await _send_json(send, 413, message)
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return incoming

        async def tracking_send(outgoing: Message) -> None:
            nonlocal started
            if outgoing["type"] == "http.response.start":
                started = True
            await send(outgoing)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _send_json(send, 413, message)


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
"""Host names a loopback-bound dashboard answers to."""

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _host_name(value: str) -> str:
    """The host of a ``Host`` header value or URL authority, without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class SameOriginMiddleware:
    """Refuse (403) requests for another host, and cross-site requests that change state.

    Args:
        app: the wrapped app.
        allowed_hosts: names the ``Host`` header may carry (any port), or None for any.
    """

    def __init__(
        self, app: ASGIApp, allowed_hosts: tuple[str, ...] | None = LOOPBACK_NAMES
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on if its host is allowed and any browser origin is this server."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if self.allowed_hosts is not None and _host_name(host) not in self.allowed_hosts:
            await _send_json(
                send, 403, f"host must be one of {', '.join(self.allowed_hosts)}, got {host!r}."
            )
            return
        origin = headers.get("origin")
        cross_site = origin is not None and (
            origin == "null" or urlsplit(origin).netloc.lower() != host.lower()
        )
        if cross_site and scope["method"] not in SAFE_METHODS:
            await _send_json(
                send,
                403,
                f"requests that change state must come from this dashboard's pages, got origin {origin!r}.",
            )
            return
        await self.app(scope, receive, send)
