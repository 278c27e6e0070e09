"""Asynchronous replication over a socket: the primary ships records once they are `lag` seconds old.

Protocol (JSON lines on the primary's replication port):
  follower -> {"system": ID, "have": [record ids it already holds]}
  primary  -> {"rec": RECORD} ... and every 0.5 s {"hb": now, "newest": ts, "count": n,
              "pending": unshipped records, "overdue": unshipped records older than the lag,
              "behind": age of the oldest unshipped record = the replication lag, seconds}
The lag sits on the shipping side (a log-shipping interval): a record not yet shipped when the primary
fails or the link is cut is lost at the DR site, so the RPO of a failover equals the lag.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from bcdrill.lab.store import Record, Store

HEARTBEAT = 0.5
TICK = 0.1


class Node(Protocol):
    """What replication needs from an instance."""

    store: Store

    def may_ship(self) -> bool: ...
    def ship_cutoff(self) -> float: ...
    def may_follow(self) -> bool: ...
    def leader_address(self) -> tuple[str, int]: ...
    def log(self, message: str) -> None: ...


@dataclass
class FollowerState:
    connected: bool = False
    leader_newest: float | None = None
    leader_count: int = 0
    pending: int | None = None
    overdue: int | None = None
    behind: float | None = None
    applied: int = 0
    last_heard: float | None = None


def _line(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


async def serve_follower(node: Node, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Leader side of one replication connection."""
    try:
        hello = json.loads(await asyncio.wait_for(reader.readline(), 5))
        if not node.may_ship():
            writer.write(_line({"refused": "not a primary, isolated or down"}))
            return
        have = set(hello.get("have", []))
        pending: deque[Record] = deque(
            sorted((r for r in node.store.records if r["id"] not in have), key=lambda r: r["ts"])
        )
        node.log(f"replica connected: {len(pending)} records to catch up")
        await _ship(node, writer, pending, len(node.store.records), have)
    except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _ship(
    node: Node, writer: asyncio.StreamWriter, pending: deque[Record], cursor: int, have: set[str]
) -> None:
    last_hb = 0.0
    while node.may_ship():
        records = node.store.records
        pending.extend(r for r in records[cursor:] if r["id"] not in have)
        cursor = len(records)
        cutoff = node.ship_cutoff()
        while pending and pending[0]["ts"] <= cutoff:
            writer.write(_line({"rec": pending.popleft()}))
        now = time.time()
        if now - last_hb >= HEARTBEAT:
            overdue = sum(1 for r in pending if r["ts"] <= cutoff)
            behind = now - pending[0]["ts"] if pending else 0.0
            writer.write(
                _line(
                    {
                        "hb": now,
                        "newest": node.store.newest(),
                        "count": len(records),
                        "pending": len(pending),
                        "overdue": overdue,
                        "behind": behind,
                    }
                )
            )
            last_hb = now
        await writer.drain()
        await asyncio.sleep(TICK)


async def follow(node: Node, state: FollowerState) -> None:
    """Follower side: keep a replication session open while the node should follow."""
    while True:
        if node.may_follow():
            try:
                await _session(node, state)
            except (OSError, ValueError, asyncio.TimeoutError) as exc:
                if state.connected:
                    node.log(f"replication session lost: {exc!r}")
            finally:
                state.connected = False
        await asyncio.sleep(0.5)


async def _session(node: Node, state: FollowerState) -> None:
    host, port = node.leader_address()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    try:
        writer.write(_line({"have": node.store.ids()}))
        await writer.drain()
        state.connected = True
        while node.may_follow():
            line = await asyncio.wait_for(reader.readline(), 3)
            if not line:
                return
            msg = json.loads(line)
            if "refused" in msg:
                return
            if "hb" in msg:
                _heard(state, msg)
            elif node.may_follow() and node.store.apply(msg["rec"]):
                state.applied += 1
    finally:
        writer.close()


def _heard(state: FollowerState, msg: dict[str, object]) -> None:
    state.last_heard = time.time()
    newest, count = msg.get("newest"), msg.get("count")
    pending, overdue, behind = msg.get("pending"), msg.get("overdue"), msg.get("behind")
    state.behind = float(behind) if isinstance(behind, (int, float)) else None
    state.leader_newest = float(newest) if isinstance(newest, (int, float)) else None
    state.leader_count = count if isinstance(count, int) else 0
    state.pending = pending if isinstance(pending, int) else None
    state.overdue = overdue if isinstance(overdue, int) else None
