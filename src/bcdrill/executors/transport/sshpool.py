"""SSH connections for a run: one paramiko Transport per target (address, port, user, key, known_hosts),
shared by every step.

The pool lives in the run's `Resources` (``ctx.resources.get("ssh", SshPool)``) and is closed at the
end of the run. Each command opens its own channel on the shared transport (channels are cheap; the
transport's packet thread multiplexes them), so parallel steps never share an `exec_command` call.
Running a command and killing its remote process group lives in `bcdrill.executors.transport.sshexec`.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bcdrill.scenario.model import Host

if TYPE_CHECKING:
    from bcdrill.executors.base import LogSink

# paramiko logs refused channels and lost connections at ERROR; with no handler Python's last-resort
# handler would print them on the drill's console. What matters reaches the step's detail instead.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

BANNER_RETRIES = 4  # connection attempts when the server drops the connection before its banner
CONNECT_TIMEOUT = 30.0  # seconds for TCP connect + SSH handshake + auth when the step has no deadline


@dataclass(frozen=True)
class SshTarget:
    """Where and how to connect: a `hosts:` entry with the action's overrides applied."""

    name: str  # as written in the scenario (for messages)
    address: str
    port: int = 22
    user: str = "root"
    key: str | None = None
    known_hosts: str | None = None
    accept_unknown_host_key: bool = False

    @property
    def pool_key(self) -> tuple[str, int, str, str | None, str | None, bool]:
        """Connections are shared only between targets verified and authenticated the same way: two
        `hosts:` entries for one address with different known_hosts files or keys must each have
        their own host key check and login, not ride on the other's connection."""
        return (self.address, self.port, self.user, self.key, self.known_hosts, self.accept_unknown_host_key)

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def label(self) -> str:
        """How the target is named in details: the scenario name, plus the address if it differs."""
        return self.name if self.name == self.address else f"{self.name} ({self.endpoint})"


class SshError(Exception):
    """Connecting failed. `kind` is one of: unreachable, host-key, auth, protocol, timeout, cancelled
    (and, inside `connect` only, dropped: closed before the SSH banner, retried)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def resolve_target(
    hosts: Mapping[str, Host], name: str, *, user: str | None = None, port: int | None = None
) -> SshTarget:
    """Look `name` up in the scenario's hosts (inventory hosts are merged in by the loader).

    A name that is not there is used as the address itself (a DNS name or an IP), with port 22, the
    current user and default known_hosts. The action's `user`/`port` override the entry's.
    """
    host = hosts.get(name) or Host(name=name, address=name)
    return SshTarget(
        name=name,
        address=host.address,
        port=port or host.port,
        user=user or host.user or getpass.getuser(),
        key=host.key,
        known_hosts=host.known_hosts,
        accept_unknown_host_key=host.accept_unknown_host_key,
    )


class _Slot:
    """One pooled connection and the lock that serialises (re)connecting it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.transport: Any = None  # paramiko.Transport


class SshPool:
    """Thread-safe, lazily connecting pool of SSH transports; dead transports are replaced on use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, int, str, str | None, str | None, bool], _Slot] = {}
        self._closed = False
        self.connects = 0  # number of transports opened (for tests and diagnostics)

    def transport(self, target: SshTarget, *, timeout: float, log: LogSink | None = None) -> Any:
        """An authenticated, active transport to `target`, connecting within `timeout` seconds if needed."""
        with self._lock:
            if self._closed:
                raise SshError("protocol", "the SSH connection pool is closed (the run is ending)")
            slot = self._slots.setdefault(target.pool_key, _Slot())
        if not slot.lock.acquire(timeout=max(timeout, 0.0)):
            raise SshError("timeout", f"timed out waiting for the connection to {target.endpoint}")
        try:
            if slot.transport is not None and slot.transport.is_active():
                return slot.transport
            if slot.transport is not None:
                _close_quietly(slot.transport)
                slot.transport = None
            slot.transport = connect(target, timeout=timeout, log=log)
            with self._lock:
                self.connects += 1
            return slot.transport
        finally:
            slot.lock.release()

    def discard(self, target: SshTarget, transport: Any) -> None:
        """Drop `transport` if it is still the pooled one (it failed); the next use reconnects."""
        with self._lock:
            slot = self._slots.get(target.pool_key)
        if slot is None:
            return
        with slot.lock:
            if slot.transport is transport:
                slot.transport = None
        _close_quietly(transport)

    def active_transports(self) -> int:
        with self._lock:
            slots = list(self._slots.values())
        return sum(1 for s in slots if s.transport is not None and s.transport.is_active())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            slots, self._slots = list(self._slots.values()), {}
        for slot in slots:
            if slot.transport is not None:
                _close_quietly(slot.transport)


def connect(target: SshTarget, *, timeout: float, log: LogSink | None = None) -> Any:
    """Open a TCP connection, negotiate SSH, verify the host key and authenticate, within `timeout`.

    A server that drops the connection before its banner is most likely shedding load (OpenSSH's
    `MaxStartups`: too many unauthenticated connections at once, e.g. many parallel steps opening
    their first connection to one jump host): that is retried, a few times within `timeout`.
    """
    deadline = time.monotonic() + timeout
    for attempt in range(1, BANNER_RETRIES + 1):
        try:
            return _connect_once(target, deadline, log)
        except SshError as exc:
            pause = random.uniform(0.05, 0.25) * attempt
            if exc.kind != "dropped" or time.monotonic() + pause >= deadline:
                raise _public(exc) from None
            if attempt == BANNER_RETRIES:
                raise _public(exc) from None
            if log is not None:
                log.write(f"ssh: {exc.message}; retrying\n")
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def _public(exc: SshError) -> SshError:
    if exc.kind != "dropped":
        return exc
    return SshError(
        "protocol",
        f"{exc.message} (the server closed the connection before its SSH banner, {BANNER_RETRIES} times: "
        "too many connections at once for its MaxStartups, or not an SSH server)",
    )


def _connect_once(target: SshTarget, deadline: float, log: LogSink | None) -> Any:
    import paramiko

    known_path = target.known_hosts or os.path.expanduser("~/.ssh/known_hosts")
    known = _load_known_hosts(known_path)
    transport = paramiko.Transport(_open_socket(target, max(deadline - time.monotonic(), 0.01)))
    try:
        _prefer_known_key_types(transport, known.lookup(_known_hosts_name(target)))
        _handshake(transport, target, deadline)
        key = transport.get_remote_server_key()
        _verify_host_key(key, target, known, known_path, log)
        _authenticate(transport, target, deadline)
        transport.set_keepalive(30)
    except BaseException:
        _close_quietly(transport)
        raise
    if log is not None:
        log.write(f"ssh: connected to {target.user}@{target.endpoint} ({key.get_name()} {key.fingerprint})\n")
    return transport


def _open_socket(target: SshTarget, timeout: float) -> socket.socket:
    where = f"cannot connect to {target.endpoint}"
    try:
        sock = socket.create_connection((target.address, target.port), timeout=max(timeout, 0.01))
    except socket.gaierror as exc:
        raise SshError("unreachable", f"{where}: cannot resolve {target.address!r}: {exc.strerror}") from None
    except TimeoutError:
        raise SshError("unreachable", f"{where}: no answer within {timeout:.1f}s") from None
    except OSError as exc:
        raise SshError("unreachable", f"{where}: {exc.strerror or exc}") from None
    # paramiko sets none of these: without TCP_NODELAY each command costs ~45 ms of Nagle delay.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
    return sock


def _handshake(transport: Any, target: SshTarget, deadline: float) -> None:
    remaining = max(deadline - time.monotonic(), 0.01)
    transport.banner_timeout = transport.handshake_timeout = remaining
    done = threading.Event()
    transport.start_client(event=done)
    if not done.wait(remaining):
        raise SshError(
            "timeout", f"SSH handshake with {target.endpoint} did not finish within {remaining:.1f}s"
        )
    if not transport.is_active():
        reason = str(transport.get_exception() or "the connection closed")
        kind = "dropped" if reason.startswith("Error reading SSH protocol banner") else "protocol"
        reason = reason.replace("banner[", "banner: [")  # paramiko glues the socket error on
        raise SshError(kind, f"SSH handshake with {target.endpoint} failed: {reason}")


def _known_hosts_name(target: SshTarget) -> str:
    return target.address if target.port == 22 else f"[{target.address}]:{target.port}"


def _load_known_hosts(path: str) -> Any:
    import paramiko

    known = paramiko.HostKeys()
    if os.path.exists(path):
        try:
            known.load(path)  # hashed entries (|1|salt|hash) are matched by HostKeys.lookup
        except Exception as exc:
            raise SshError("host-key", f"cannot read known_hosts file {path}: {exc}") from None
    return known


def _prefer_known_key_types(transport: Any, entries: Any) -> None:
    """Negotiate a host key of a type known_hosts holds (as OpenSSH does), so the comparison is meaningful."""
    if not entries:
        return
    known_types = set(entries.keys())
    options = transport.get_security_options()
    ordered = list(options.key_types)
    first = [alg for alg in ordered if _key_type_of(alg) in known_types]
    options.key_types = first + [alg for alg in ordered if alg not in first]


def _key_type_of(algorithm: str) -> str:
    return "ssh-rsa" if algorithm in ("rsa-sha2-512", "rsa-sha2-256") else algorithm


def _verify_host_key(key: Any, target: SshTarget, known: Any, path: str, log: LogSink | None) -> None:
    entries = known.lookup(_known_hosts_name(target))
    presented = f"{key.get_name()} {key.fingerprint}"
    if entries:
        same = entries.get(key.get_name())
        if same is not None and same.asbytes() == key.asbytes():
            return
        recorded = ", ".join(f"{k.get_name()} {k.fingerprint}" for k in entries.values())
        raise SshError(
            "host-key",
            f"REMOTE HOST KEY CHANGED for {target.endpoint}: {path} has {recorded} but the server presented "
            f"{presented} — possible man-in-the-middle attack; refusing to connect. If the key was replaced "
            f"on purpose, check the new fingerprint, then run: ssh-keygen -R '{_known_hosts_name(target)}' "
            f"-f {path}",
        )
    if not target.accept_unknown_host_key:
        raise SshError(
            "host-key",
            f"host key of {target.endpoint} is not in {path} — add it with "
            f"ssh-keyscan -p {target.port} {target.address} >> {path} after checking its fingerprint "
            f"{key.fingerprint}, or set accept_unknown_host_key: true for this host",
        )
    if log is not None:
        log.write(
            f"ssh: WARNING: accepting the unknown host key of {target.endpoint} ({presented}) "
            f"because accept_unknown_host_key is set for host {target.name!r}\n"
        )


def _authenticate(transport: Any, target: SshTarget, deadline: float) -> None:
    import paramiko

    who = f"{target.user}@{target.endpoint}"
    tried: list[str] = []
    agent = paramiko.Agent()
    try:
        for label, key in _candidate_keys(target, agent, tried):
            transport.auth_timeout = max(deadline - time.monotonic(), 0.01)
            try:
                remaining_methods = transport.auth_publickey(target.user, key)
            except paramiko.BadAuthenticationType as exc:
                allowed = ", ".join(exc.allowed_types) or "none"
                msg = f"authentication failed for {who}: the server does not accept keys (allows: {allowed})"
                raise SshError("auth", msg) from None
            except paramiko.AuthenticationException:
                tried.append(label)
                if not transport.is_active():
                    break
                continue
            except paramiko.SSHException as exc:
                raise SshError("protocol", f"SSH error while authenticating to {who}: {exc}") from None
            if transport.is_authenticated():
                return
            raise SshError(
                "auth", f"authentication failed for {who}: the server also requires {remaining_methods}"
            )
    finally:
        agent.close()
    keys = "; ".join(tried) or "no key available (no key: in the host entry, no agent, no ~/.ssh/id_*)"
    raise SshError("auth", f"authentication failed for {who}: no key was accepted (tried: {keys})")


def _candidate_keys(target: SshTarget, agent: Any, notes: list[str]) -> Iterator[tuple[str, Any]]:
    """The configured key file; then the agent's keys; then ~/.ssh/id_* if no key file is configured."""
    if target.key:
        yield f"key file {target.key}", _load_key(target.key, required=True)
    for agent_key in agent.get_keys():
        yield f"agent key {agent_key.fingerprint}", agent_key
    if target.key:
        return
    for name in ("id_ed25519", "id_ecdsa", "id_rsa"):
        path = os.path.expanduser(f"~/.ssh/{name}")
        if os.path.exists(path):
            key = _load_key(path, required=False)
            if key is None:
                notes.append(f"{path} (skipped: encrypted or unreadable)")
            else:
                yield f"key file {path}", key


def _load_key(path: str, *, required: bool) -> Any:
    import paramiko

    try:
        return paramiko.PKey.from_path(os.path.expanduser(path))
    except paramiko.PasswordRequiredException:
        problem = "it is encrypted: load it into ssh-agent instead"
    except (OSError, paramiko.SSHException, ValueError) as exc:
        problem = str(exc)
    if required:
        raise SshError("auth", f"cannot load SSH key file {path}: {problem}")
    return None


def _close_quietly(transport: Any) -> None:
    with contextlib.suppress(Exception):  # closing a broken transport must not raise
        transport.close()
