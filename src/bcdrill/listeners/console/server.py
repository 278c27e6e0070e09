"""Serving the console with uvicorn: in the foreground (`drill console`) or on a thread beside a
running drill (`drill run/resume --console`, `ConsoleListener`).

The socket is bound before anything else happens, so a busy port or a bad address is a usage
error (exit 2) before a drill starts. Loopback addresses are served as they are; any other
address needs TLS (`--tls-cert/--tls-key`) or an explicit `--insecure-http`, which warns.
uvicorn's own access log is off: `app.Logged` logs paths without query strings.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import uvicorn

from bcdrill.common.errors import UsageError
from bcdrill.listeners.console.app import Console, build_app
from bcdrill.listeners.console.hub import Hub
from bcdrill.listeners.console.tokens import Keyring, load_secret, people_of

DEFAULT_LISTEN = "127.0.0.1:8470"
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


@dataclass(frozen=True)
class Exposure:
    """Where and how the console listens: the address, TLS files, and whether plain HTTP was forced."""

    listen: Listen
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure_http: bool = False

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def base_url(self, port: int | None = None) -> str:
        host = self.listen.host
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.tls else 'http'}://{host}:{port or self.listen.port}"


def parse_listen(text: str, option: str = "--listen") -> Listen:
    """HOST:PORT ([::1]:PORT for IPv6; :PORT means 127.0.0.1); UsageError otherwise."""
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(
            f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8470 (port 0: any free port)"
        )
    return Listen(host, int(port_text))


def check_exposure(exposure: Exposure, warn: TextIO) -> None:
    """Refuse a non-loopback address without TLS or --insecure-http; warn when plain HTTP is forced."""
    if (exposure.tls_cert is None) != (exposure.tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together: give both files")
    for path in (exposure.tls_cert, exposure.tls_key):
        if path is not None and not path.is_file():
            raise UsageError(f"{path}: no such file (--tls-cert/--tls-key)")
    if exposure.listen.loopback or exposure.tls:
        return
    if not exposure.insecure_http:
        raise UsageError(
            f"{exposure.listen.host} is not a loopback address: the console carries personal tokens — "
            "give --tls-cert FILE --tls-key FILE, or --insecure-http to serve plain HTTP anyway"
        )
    warn.write(
        f"drill: warning: serving the console over plain HTTP on {exposure.listen.host}: "
        "tokens and confirmations can be read on the network (--insecure-http)\n"
    )


def bind(listen: Listen) -> socket.socket:
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(listen.host, listen.port, family, socket.SOCK_STREAM)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {listen.host}:{listen.port} ({exc.strerror or exc}) — pick another "
            "address with --listen HOST:PORT / --console HOST:PORT"
        ) from None
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def keyring_of(run_dir: Path, hub: Hub) -> Keyring:
    return Keyring(load_secret(run_dir), people_of(hub.state.snapshot))


def links(run_dir: Path, base_url: str) -> list[tuple[str, str, str, str]]:
    """(name, team, role, personal URL) of every participant of the run."""
    hub = Hub(run_dir)
    keyring = keyring_of(run_dir, hub)
    base = base_url.rstrip("/")
    return [(p.name, p.team or "", p.role or "", f"{base}/#t={token}") for p, token in keyring.links()]


class _Server(uvicorn.Server):
    """uvicorn, ending the event streams as soon as it is asked to stop."""

    def __init__(self, config: uvicorn.Config, console: Console) -> None:
        super().__init__(config)
        self.console = console

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.console.shutdown()
        super().handle_exit(sig, frame)


class ConsoleServer:
    """The console of one run directory on a bound socket."""

    def __init__(
        self, run_dir: Path, exposure: Exposure, sock: socket.socket, log: Callable[[str], None]
    ) -> None:
        self.run_dir = Path(run_dir)
        self.exposure = exposure
        self.sock = sock
        self.hub = Hub(self.run_dir)
        self.keyring = keyring_of(self.run_dir, self.hub)
        app, self.console = build_app(self.hub, self.keyring, secure=exposure.tls, log=log)
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=2,
            ssl_certfile=str(exposure.tls_cert) if exposure.tls_cert else None,
            ssl_keyfile=str(exposure.tls_key) if exposure.tls_key else None,
            server_header=False,
        )
        self.server = _Server(config, self.console)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.exposure.base_url(self.sock.getsockname()[1]) + "/"

    def serve(self) -> None:
        """In the foreground until SIGINT/SIGTERM."""
        self.server.run(sockets=[self.sock])

    def start(self) -> None:
        """On a daemon thread; returns once it serves (UsageError if it could not start)."""
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="console", daemon=True
        )
        self._thread.start()
        waited = 0.0
        while not self.server.started and self._thread.is_alive() and waited < START_TIMEOUT:
            self._thread.join(0.02)
            waited += 0.02
        if not self.server.started:
            raise UsageError(f"the console could not start on {self.url}")

    def stop(self) -> None:
        self.console.shutdown()
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(5.0)
        with contextlib.suppress(OSError):
            self.sock.close()


def stderr_log(line: str) -> None:
    sys.stderr.write(f"console: {line}\n")
