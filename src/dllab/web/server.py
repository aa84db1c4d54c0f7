"""`dllab serve`: bind the address, print it, and serve the web lab with uvicorn until Ctrl-C.

Ctrl-C stops the server after the runs it started have saved (each gets SIGINT, as Ctrl-C in
its own terminal would give it, and can be resumed from the lab or with `dllab run --resume`).
"""

import socket
import sys
from pathlib import Path

import uvicorn

from dllab.errors import ConfigError
from dllab.experiments.runner import check_numbers
from dllab.web.app import create_app
from dllab.web.security import is_loopback, new_token


def serve(
    host: str,
    port: int,
    runs: Path,
    token: str | None,
    workers: int,
    checkpoint_interval_s: float,
) -> int:
    """Serve the lab on `host:port` (port 0: any free one) over the run folders in `runs`; the
    runs it starts checkpoint at most every `checkpoint_interval_s` seconds.

    Raises:
        ConfigError: for a bad port, worker count, checkpoint interval, token, runs folder or
            an address in use.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, got {port}")
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    check_numbers(None, checkpoint_interval_s)
    if token is not None and len(token) < 8:
        raise ConfigError("--token must be at least 8 characters")
    if not is_loopback(host) and token is None:
        token = new_token()
    try:
        runs.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot use runs folder {runs}: {error.strerror}") from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(2048)  # connections made from now on wait for the app instead of failing
    app = create_app(
        runs,
        token=token,
        workers=workers,
        loopback_only=is_loopback(host),
        checkpoint_interval_s=checkpoint_interval_s,
    )
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
    print(f"dllab serve: {address}  (runs in {runs}; Ctrl-C stops)", flush=True)
    if token and not is_loopback(host):
        print("  every request needs the token; open the address above once", file=sys.stderr)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
