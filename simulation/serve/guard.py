"""Who may use `alertsim serve`: the token, and the Host and Origin checks, as one middleware.

- **Host.** Every request must name an allowed host (`localhost`, a loopback address, the
  address served on, or one given with `--allow-host`), whatever its port, so a page on an
  attacker's domain that rebinds its name to 127.0.0.1 gets 421.
- **Origin.** A state-changing request (anything but GET, HEAD, OPTIONS) that carries an
  `Origin` or `Sec-Fetch-Site: cross-site` must come from an allowed host: a cross-site form
  or `text/plain` POST gets 403 before its body is read.
- **Token.** A state-changing request must carry the token in `X-Alertsim-Token` (or
  `Authorization: Bearer`), compared in constant time; else 401. A header, never a cookie, so a
  browser never sends it on another site's behalf. The page gets it from `/?token=...` (the
  address printed at start): the server then keeps it in a `SameSite=Strict`, HttpOnly cookie
  used only to write the token into the pages it serves, whose script sends it as the header.

The token is generated on first start and kept in `<state dir>/token` with mode 0600.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

__all__ = [
    "COOKIE",
    "HEADER",
    "LOOPBACK_HOSTS",
    "allowed_host",
    "guard_middleware",
    "load_or_create_token",
    "page_token",
]

HEADER: Final = "X-Alertsim-Token"
COOKIE: Final = "alertsim_token"
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def load_or_create_token(state_dir: Path) -> tuple[str, bool]:
    """(token, created): the token kept in `state_dir/token`, made (mode 0600) if absent."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state_dir.chmod(0o700)  # the server's own: no one else lists or enters it
    path = state_dir / "token"
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            path.chmod(0o600)
            return token, False
    token = secrets.token_urlsafe(32)
    # created with 0600 from the start: never readable by others, not even for an instant
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    path.chmod(0o600)
    return token, True


def _hostname(value: str) -> str:
    """The host of a `Host` header or of an origin URL, lowercased, without port or brackets."""
    netloc = urlsplit(value).netloc if "://" in value else value
    host = urlsplit(f"//{netloc}").hostname
    return (host or "").lower()


def allowed_host(value: str | None, allowed: Iterable[str]) -> bool:
    """Whether a `Host` header or `Origin` names one of `allowed` (any port)."""
    return bool(value) and _hostname(value or "") in {h.lower() for h in allowed}


def _refuse(status: type[web.HTTPException], error: str) -> web.HTTPException:
    return status(text=json.dumps({"error": error}), content_type="application/json")


def _given_token(request: web.Request) -> str:
    token = request.headers.get(HEADER, "")
    bearer = request.headers.get("Authorization", "")
    if not token and bearer.startswith("Bearer "):
        token = bearer.removeprefix("Bearer ")
    return token


def page_token(request: web.Request, token: str) -> str | None:
    """The token to write into a page: when the viewer showed it (query or cookie), else None."""
    shown = request.query.get("token") or request.cookies.get(COOKIE, "")
    return token if shown and hmac.compare_digest(shown, token) else None


def guard_middleware(
    token: str, hosts: Iterable[str], refused: Counter[str] | None = None
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware checking Host on every request, Origin and token on state changes."""
    allowed = frozenset(LOOPBACK_HOSTS | {h.lower() for h in hosts})
    counted: Counter[str] = refused if refused is not None else Counter()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not allowed_host(request.headers.get("Host"), allowed):
            counted["host"] += 1
            raise _refuse(
                web.HTTPMisdirectedRequest,
                f"Host: expected one of {', '.join(sorted(allowed))}, "
                f"got {request.headers.get('Host', '')!r}",
            )
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("Origin")
            if origin is not None and not allowed_host(origin, allowed):
                counted["origin"] += 1
                raise _refuse(web.HTTPForbidden, f"Origin: expected this server, got {origin!r}")
            if request.headers.get("Sec-Fetch-Site") == "cross-site":
                counted["origin"] += 1
                raise _refuse(web.HTTPForbidden, "Sec-Fetch-Site: expected a same-site request")
            given = _given_token(request)
            if not given or not hmac.compare_digest(given.encode(), token.encode()):
                counted["token"] += 1
                raise _refuse(
                    web.HTTPUnauthorized,
                    f"{HEADER}: expected the token printed when the server started "
                    "(or in its state folder)",
                )
        response = await handler(request)
        if request.method == "GET" and page_token(request, token) and "token" in request.query:
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
        return response

    return guard
