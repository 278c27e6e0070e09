"""The `notify:` section: chat channels (one platform each), which messages go where, their secrets.

Each channel names exactly one platform (`wecom`, `dingtalk`, `feishu`, `webhook`). The values of
secret fields (keys, tokens, signing secrets, a Feishu webhook URL, any URL that carries a query or
credentials and each of their values, secret-looking header values) are returned with the section,
for `Scenario.secrets`: they are masked wherever they could be written. A secret written literally in
the file (not through `{{ }}`) is a warning: the file is copied into every run directory.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Collection
from typing import Any, cast

from bcdrill.scenario import fields as F
from bcdrill.scenario.model import Notify, NotifyChannel, NotifyEvent, NotifyPlatform
from bcdrill.scenario.templating import has_template
from bcdrill.scenario.validator import INVALID, Ctx, did_you_mean
from bcdrill.scenario.yamlpos import YList, YMap, type_name

DEFAULT_PER_MINUTE: dict[str, int] = {"wecom": 20, "dingtalk": 20, "feishu": 100, "webhook": 60}
_TABLES = {"wecom": F.WECOM, "dingtalk": F.DINGTALK, "feishu": F.FEISHU, "webhook": F.WEBHOOK}
_SECRET_HEADER = re.compile(r"authorization|token|key|secret|signature", re.IGNORECASE)


def build_notify(ctx: Ctx, value: Any, teams: Collection[str]) -> tuple[Notify | None, tuple[str, ...]]:
    """The section (None when absent or invalid) and the secret values it holds."""
    if not isinstance(value, YMap):
        return None, ()
    f = ctx.fields(value, F.NOTIFY, "notify")
    secrets: list[str] = []
    channels: list[NotifyChannel] = []
    raw = f["channels"]
    if isinstance(raw, YMap) and not raw:
        ctx.add(
            value.val_pos["channels"], "notify.channels: no channel — add at least one, or remove notify:"
        )
    for cid, m in raw.items() if isinstance(raw, YMap) else ():
        where = f"notify.channels.{cid}"
        if not isinstance(m, YMap):
            ctx.add(raw.val_pos[cid], f"{where}: expected a mapping, got {type_name(m)}")
            continue
        channel = _channel(ctx, cid, m, where, teams, secrets)
        if channel is not None:
            channels.append(channel)
    console_url = f["console_url"]
    if isinstance(console_url, str):
        _check_url(ctx, value, "console_url", console_url, "notify.console_url")
    if INVALID in f.values() or len(channels) != len(raw if isinstance(raw, YMap) else ()):
        return None, tuple(dict.fromkeys(secrets))
    notify = Notify(
        channels=tuple(channels),
        console_url=console_url.rstrip("/") if console_url else None,
        lang=f["lang"],
        timeout=f["timeout"],
    )
    return notify, tuple(dict.fromkeys(secrets))


def _platform(ctx: Ctx, m: YMap, where: str, *, told: bool) -> str | None:
    advice = "use one channel per robot"
    return ctx.exactly_one(m, F.NOTIFY_PLATFORMS, "platform", where, advice, quiet_if_none=told)


def _channel(
    ctx: Ctx, cid: str, m: YMap, where: str, teams: Collection[str], secrets: list[str]
) -> NotifyChannel | None:
    m, told = _unknown_platforms(ctx, m, where)
    c = ctx.fields(m, F.NOTIFY_CHANNEL, where)
    events = _events(ctx, m, c["events"], where)
    _check_teams(ctx, m, c["teams"], teams, where)
    platform = _platform(ctx, m, where, told=told)
    if platform is None or c[platform] is INVALID:
        return None
    pm: YMap = c[platform]
    p = ctx.fields(pm, _TABLES[platform], f"{where}.{platform}")
    _literal_secrets(ctx, pm, _TABLES[platform], f"{where}.{platform}")
    secrets.extend(_secrets_of(platform, p))
    url_key = "webhook" if platform == "feishu" else "url"
    if isinstance(p[url_key], str):
        _check_url(ctx, pm, url_key, p[url_key], f"{where}.{platform}.{url_key}")
    headers = _headers(ctx, pm, p.get("headers"), f"{where}.{platform}.headers")
    if INVALID in (*c.values(), *p.values(), events, headers):
        return None
    return NotifyChannel(
        id=cid,
        platform=cast(NotifyPlatform, platform),
        url=p[url_key],
        pos=m.pos,
        key=p.get("key") or p.get("access_token"),
        secret=p.get("secret"),
        signature_header=p.get("signature_header") or "X-Bcdrill-Signature",
        headers=headers or {},
        events=events or cast(tuple[NotifyEvent, ...], F.NOTIFY_EVENTS),
        teams=c["teams"] or (),
        per_minute=c["per_minute"] or DEFAULT_PER_MINUTE[platform],
    )


def _unknown_platforms(ctx: Ctx, m: YMap, where: str) -> tuple[YMap, bool]:
    """A channel naming no platform bcdrill knows but holding a mapping under an unknown key (`msteams:
    {url: …}`): that key is a platform bcdrill does not send to. Each is reported as such; the channel
    without them is returned (so they are not reported again as unknown keys), and whether any was."""
    known = {f.name for f in F.NOTIFY_CHANNEL}
    if any(m.get(p) is not None for p in F.NOTIFY_PLATFORMS):
        return m, False
    guesses = [k for k, v in m.items() if k not in known and isinstance(v, YMap)]
    for key in guesses:
        fix = did_you_mean(key, F.NOTIFY_PLATFORMS) or " — use one of: " + ", ".join(F.NOTIFY_PLATFORMS)
        ctx.add(m.key_pos[key], f"{where}: unknown platform '{key}'{fix}")
    if not guesses:
        return m, False
    rest = YMap(m.pos)
    rest.key_pos, rest.val_pos = m.key_pos, m.val_pos
    rest.update((k, v) for k, v in m.items() if k not in guesses)
    return rest, True


def _events(ctx: Ctx, m: YMap, value: Any, where: str) -> Any:
    if value is INVALID or value is None:
        return value
    raw = m.get("events")
    for i, name in enumerate(value):
        if name not in F.NOTIFY_EVENTS:
            pos = raw.item_pos[i] if isinstance(raw, YList) else m.val_pos["events"]
            hint = did_you_mean(name, F.NOTIFY_EVENTS) or " — expected some of: " + ", ".join(F.NOTIFY_EVENTS)
            ctx.add(pos, f"{where}.events: unknown event '{name}'{hint}")
            return INVALID
    return tuple(dict.fromkeys(value))


def _check_teams(ctx: Ctx, m: YMap, value: Any, teams: Collection[str], where: str) -> None:
    if value is INVALID or value is None:
        return
    raw = m.get("teams")
    for i, name in enumerate(value):
        if name not in teams:
            pos = raw.item_pos[i] if isinstance(raw, YList) else m.val_pos["teams"]
            hint = did_you_mean(name, teams) or " — define it under teams:"
            ctx.add(pos, f"{where}.teams: unknown team '{name}'{hint}")


def _check_url(ctx: Ctx, m: YMap, key: str, url: str, label: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = "an http(s) URL" if m.get(key) != url else f"'{url}'"  # never echo a rendered secret
        ctx.add(
            m.val_pos[key], f"{label}: expected an http:// or https:// URL, got {shown} — write the full URL"
        )


def _headers(ctx: Ctx, m: YMap, value: Any, label: str) -> Any:
    if value is None or value is INVALID:
        return value
    out: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(text, (str, int)) or isinstance(text, bool):
            ctx.add(m.val_pos["headers"], f"{label}.{name}: expected a string, got {type_name(text)}")
            return INVALID
        out[str(name)] = str(text)
    return out


def _secrets_of(platform: str, p: dict[str, Any]) -> list[str]:
    """The secret values of one platform mapping (see the module doc)."""
    table = _TABLES[platform]
    found = [str(p[f.name]) for f in table if f.secret and isinstance(p.get(f.name), str) and p[f.name]]
    url = p.get("webhook") if platform == "feishu" else p.get("url")
    if isinstance(url, str):
        parts = urllib.parse.urlsplit(url)
        if platform == "feishu":
            found.append(parts.path.rstrip("/").rsplit("/", 1)[-1])  # the hook id alone
        if parts.query or parts.password:  # e.g. a robot URL written with its key=/access_token=
            found.append(url)
            found.extend(v for _, v in urllib.parse.parse_qsl(parts.query) if v)
            found.extend(v for v in (parts.password,) if v)
    headers = p.get("headers")
    if isinstance(headers, dict):
        found.extend(str(v) for k, v in headers.items() if _SECRET_HEADER.search(str(k)) and v)
    return [s for s in found if s]


def _literal_secrets(ctx: Ctx, m: YMap, table: tuple[F.Field, ...], where: str) -> None:
    for f in table:
        raw = m.get(f.name)
        if f.secret and isinstance(raw, str) and raw and not has_template(raw):
            ctx.warn(
                m.val_pos[f.name],
                f"{where}.{f.name} is written literally, so it is copied into every run directory — "
                f"pass it with --var instead, e.g. {f.name}: '{{{{ {_var_name(where, f.name)} }}}}'",
            )


def _var_name(where: str, name: str) -> str:
    channel = where.split(".")[2] if where.count(".") >= 2 else "notify"
    return re.sub(r"[^A-Za-z0-9_]", "_", f"{channel}_{name}")
