"""A small SMTP server (RFC 5321 subset): each accepted message becomes a `mail` record."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bcdrill.lab.services import Service

MAX_MESSAGE = 1024 * 1024
Reply = Callable[[str], Awaitable[None]]


async def smtp_session(svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    async def reply(text: str) -> None:
        writer.write((text + "\r\n").encode())
        await writer.drain()

    try:
        refusal = svc.refusal(True)
        if refusal:  # RFC 5321 §3.1: 554 instead of 220 refuses the session
            await reply(f"554 {refusal}")
            return
        await reply(f"220 {svc.health()['status']} ESMTP bcdrill-lab")
        await _dialogue(svc, reader, reply)
    except (OSError, asyncio.TimeoutError, UnicodeDecodeError):
        pass
    finally:
        writer.close()


async def _dialogue(svc: Service, reader: asyncio.StreamReader, send: Reply) -> None:
    sender, rcpts = "", list[str]()
    while line := await asyncio.wait_for(reader.readline(), 30):
        cmd = line.decode().strip()
        verb = cmd[:4].upper()
        if verb in ("EHLO", "HELO"):
            await send("250 bcdrill-lab")
        elif verb == "MAIL":
            sender, rcpts = cmd.partition(":")[2].strip(), []
            await send("250 OK")
        elif verb == "RCPT":
            rcpts.append(cmd.partition(":")[2].strip())
            await send("250 OK")
        elif verb == "DATA":
            await send("354 end data with <CR><LF>.<CR><LF>")
            data = await _read_data(reader)
            await send(_accept(svc, sender, rcpts, data))
        elif verb == "QUIT":
            await send("221 bye")
            return
        elif verb in ("RSET", "NOOP"):
            await send("250 OK")
        else:
            await send("502 command not implemented")


async def _read_data(reader: asyncio.StreamReader) -> str:
    lines: list[str] = []
    size = 0
    while True:
        line = (await asyncio.wait_for(reader.readline(), 30)).decode("utf-8", "replace")
        if line.rstrip("\r\n") == "." or not line:
            return "".join(lines)
        size += len(line)
        if size <= MAX_MESSAGE:
            lines.append(line[1:] if line.startswith("..") else line)


def _accept(svc: Service, sender: str, rcpts: list[str], data: str) -> str:
    refusal = svc.refusal(True)
    if refusal:
        return f"451 {refusal}"
    subject = next((ln[8:].strip() for ln in data.splitlines() if ln.lower().startswith("subject:")), "")
    body = json.dumps({"from": sender, "to": rcpts, "subject": subject, "data": data}, ensure_ascii=False)
    rec = svc.store.create(svc.kind, subject or None, body)
    return f"250 OK queued as {rec['id']}"
