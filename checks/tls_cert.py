"""Stock check: a TLS server's certificate has at least `min_days` of validity left.

check: {python: "checks/tls_cert.py:tls_cert", args: {host: www.dr.example, port: 443, min_days: 14}}
"""

from __future__ import annotations

import socket
import ssl
import time
from datetime import datetime, timezone
from typing import Any


def tls_cert(
    host: str,
    port: int = 443,
    min_days: float = 14,
    server_name: str | None = None,
    cafile: str | None = None,
    verify: bool = True,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Handshake (verifying the chain and name unless verify is false) and report the days left.

    With verify false the certificate is read without validation (needs the `cryptography` package).
    """
    name = server_name or host
    try:
        not_after = _not_after(host, int(port), name, cafile, verify, timeout)
    except ssl.SSLCertVerificationError as exc:
        return {
            "ok": False,
            "detail": f"{host}:{port}: certificate not trusted: {exc.verify_message}",
            "observed": {},
        }
    except TimeoutError:
        return {
            "ok": False,
            "detail": f"{host}:{port}: no TLS handshake within {timeout:.1f}s",
            "observed": {},
        }
    except (OSError, ValueError, ImportError) as exc:
        return {"ok": False, "detail": f"{host}:{port}: {type(exc).__name__}: {exc}", "observed": {}}
    days = (not_after - time.time()) / 86400
    expires = datetime.fromtimestamp(not_after, tz=timezone.utc).isoformat().replace("+00:00", "Z")
    observed = {"not_after": expires, "days_left": round(days, 2)}
    detail = f"{name}: certificate valid until {expires} ({days:.1f} days left"
    if days < float(min_days):
        return {
            "ok": False,
            "detail": f"{detail}, expected at least {float(min_days):g})",
            "observed": observed,
        }
    return {"ok": True, "detail": detail + ")", "observed": observed}


def _not_after(host: str, port: int, name: str, cafile: str | None, verify: bool, timeout: float) -> float:
    """The certificate's notAfter as a Unix time."""
    context = ssl.create_default_context(cafile=cafile)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        if verify:
            return ssl.cert_time_to_seconds(str((tls.getpeercert() or {})["notAfter"]))
        der = tls.getpeercert(binary_form=True) or b""
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
