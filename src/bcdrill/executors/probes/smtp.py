"""`check: {smtp: {host, port}}`: the server greets with 220, answers EHLO with 250, and QUIT."""

from __future__ import annotations

import smtplib
import socket

from bcdrill.executors.base import Outcome, StepContext
from bcdrill.scenario.model import SmtpProbe

SMTP_TIMEOUT = 30.0  # seconds per network operation, at most; less when the deadline is nearer


def probe_smtp(probe: SmtpProbe, ctx: StepContext) -> Outcome:
    remaining = ctx.remaining()
    timeout = SMTP_TIMEOUT if remaining is None else min(SMTP_TIMEOUT, remaining)
    where = f"{probe.host}:{probe.port}"
    if timeout <= 0:
        return Outcome("timeout", f"no time left to talk to the SMTP server {where}")
    client = smtplib.SMTP(timeout=timeout, local_hostname=socket.gethostname() or "localhost")
    try:
        return _converse(client, probe, ctx, where)
    except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
        status = "timeout" if ctx.expired() else "failed"
        return Outcome(status, f"SMTP server {where} did not answer: {exc or 'timed out'}")  # type: ignore[arg-type]
    except (OSError, smtplib.SMTPException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Outcome("failed", f"cannot talk to the SMTP server {where}: {reason}")
    finally:
        client.close()


def _converse(client: smtplib.SMTP, probe: SmtpProbe, ctx: StepContext, where: str) -> Outcome:
    code, raw = client.connect(probe.host, probe.port)
    banner = raw.decode("utf-8", "replace").replace("\n", " ")
    ctx.log.write(f"{where} banner: {code} {banner}\n")
    observed: dict[str, str | int] = {"banner": f"{code} {banner}"}
    if code != 220:
        return Outcome(
            "failed", f"expected banner 220 from {where}, observed {code} {banner}", observed=observed
        )
    ehlo_code, ehlo_raw = client.ehlo()
    ehlo = ehlo_raw.decode("utf-8", "replace").splitlines()
    ctx.log.write(f"EHLO: {ehlo_code} {' | '.join(ehlo)}\n")
    observed = {**observed, "ehlo": ehlo_code}
    if ehlo_code != 250:
        first = ehlo[0] if ehlo else ""
        detail = f"expected 250 to EHLO from {where}, observed {ehlo_code} {first} (banner: {code} {banner})"
        return Outcome("failed", detail, observed=observed)
    client.quit()
    return Outcome("ok", f"SMTP {where}: {code} {banner}; EHLO 250", observed=observed)
