"""``feedlab serve``: run the dashboard with uvicorn, on loopback unless told otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from feedlab.core.errors import ConfigError
from feedlab.web.app import create_app
from feedlab.web.security import LOOPBACK_NAMES, is_loopback, new_token


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    runs_dir: Path = Path("runs"),
    say: Callable[[str], None] = print,
) -> None:
    """Serve the dashboard until interrupted.

    Binding anything but loopback generates an access token, printed with the URL; every
    request must then carry it.

    Raises:
        ConfigError: if ``port`` is out of range.
    """
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be an integer in [1, 65535], got {port!r}.")
    import uvicorn  # imported here: the rest of feedlab does not need a web server

    loopback = is_loopback(host)
    token = None if loopback else new_token()
    hosts = (*LOOPBACK_NAMES, host.strip("[]").lower()) if loopback else None
    app = create_app(runs_dir, token=token, allowed_hosts=hosts)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if token is None:
        say(f"feedlab control room: {url} (loopback only; runs folder {runs_dir})")
    else:
        say(f"feedlab control room: {url}?token={token}")
        say(
            f"Bound to {host}: every request needs this token (header 'Authorization: Bearer {token}')."
        )
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
