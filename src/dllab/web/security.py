"""What the web lab lets in: the token, same-origin POSTs, the Host header, and file paths.

- It listens on 127.0.0.1 unless told otherwise; on any other address a token is required
  (`--token`, or one generated and printed) and every request without it is refused. The token
  comes as `?token=` once (it is then kept in an HttpOnly, SameSite=Strict cookie) or as
  `Authorization: Bearer TOKEN`.
- On the loopback address, the Host header must name the loopback too, so a page elsewhere that
  points a DNS name at 127.0.0.1 (DNS rebinding) cannot read the lab.
- Requests that change anything are POSTs, and a POST is accepted only from the lab's own pages:
  its Origin (or, lacking one, Referer) must be the lab's own origin.
- Files are served from inside run folders only: `safe_file` refuses `..`, absolute paths,
  encoded separators and symlinks that lead out of the folder.
"""

import hmac
import ipaddress
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "dllab_token"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or address) is this machine only."""
    if host.strip("[]") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Guard:
    """ASGI middleware: the token, the Host header and same-origin POSTs (see the module doc).

    Args:
        token: required on every request when given.
        loopback_only: the lab listens on the loopback, so Host must be a loopback name.
    """

    def __init__(self, app: ASGIApp, token: str | None, loopback_only: bool):
        self.app, self.token, self.loopback_only = app, token, loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        given = request.query_params.get("token")
        if self.token and given is not None and request.method == "GET":
            # keep the token in a cookie and take it out of the address bar
            url = request.url.remove_query_params("token")
            response = RedirectResponse(url.path + (f"?{url.query}" if url.query else ""), 303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        host = request.headers.get("host", "")
        if self.loopback_only and not is_loopback(_hostname(host)):
            return PlainTextResponse(f"refused: host {host!r} is not this machine", 421)
        if self.token and not self._has_token(request):
            return PlainTextResponse(
                "refused: this lab needs its token (open the address `dllab serve` printed)", 401
            )
        if request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin(request):
            return PlainTextResponse("refused: a change must come from the lab's own page", 403)
        return None

    def _has_token(self, request: Request) -> bool:
        candidates = [
            request.cookies.get(COOKIE, ""),
            request.query_params.get("token", ""),
            request.headers.get("authorization", "").removeprefix("Bearer "),
        ]
        return any(hmac.compare_digest(c.encode(), self.token.encode()) for c in candidates if c)


def _hostname(host_header: str) -> str:
    """`127.0.0.1:8765` -> `127.0.0.1`, `[::1]:8765` -> `::1`."""
    return urlsplit(f"//{host_header}").hostname or ""


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from the lab's own pages: its Origin header, or
    its Referer when a client sends no Origin, names the scheme and host the request went to."""
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return False
        parts = URL(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    return origin == own


def safe_file(folder: Path, relative: str) -> Path | None:
    """The regular file at `relative` inside `folder`, or None when the path is absolute, climbs
    out (`..`), holds a backslash, NUL or an empty part, or resolves (through symlinks) outside
    the folder."""
    if not relative or "\\" in relative or "\0" in relative or relative.startswith("/"):
        return None
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    root = folder.resolve()
    try:
        path = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path
