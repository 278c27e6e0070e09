"""The traffic entry points: one TCP proxy per system, routed by a switchable "DNS" record.

`LAB_DIR/dns/<system>` holds `prod` or `dr`; every new connection is sent to the site it names, so
switching traffic is one atomic file replace (`lab ctl switch SYSTEM --to dr`), as users would be moved
by a DNS or load-balancer change. Run as `python -m bcdrill.lab.proxy LAB_DIR`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

from bcdrill.lab.config import LabError, Layout, Site, SystemLayout, load_layout


def dns_path(lab_dir: Path, system: str) -> Path:
    return lab_dir / "dns" / system


def read_route(lab_dir: Path, system: str) -> Site:
    try:
        value = dns_path(lab_dir, system).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return "prod"
    return "dr" if value == "dr" else "prod"


def write_route(lab_dir: Path, system: str, site: Site) -> None:
    path = dns_path(lab_dir, system)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(site + "\n", encoding="utf-8")
    tmp.replace(path)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


async def _forward(
    layout: Layout, cfg: SystemLayout, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    site = read_route(Path(layout.lab_dir), cfg.id)
    try:
        up_reader, up_writer = await asyncio.wait_for(
            asyncio.open_connection(layout.addr(site), cfg.port(site, "svc")), 2
        )
    except (OSError, asyncio.TimeoutError):
        writer.close()  # the site named by the record does not answer: users see a failed connection
        return
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def serve(layout: Layout) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    servers = []
    for cfg in layout.systems.values():

        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, cfg: SystemLayout = cfg) -> None:
            await _forward(layout, cfg, r, w)

        servers.append(
            await asyncio.start_server(
                handler, layout.addresses["entry"], cfg.ports["entry"], reuse_address=True
            )
        )
    print(
        f"{time.strftime('%H:%M:%S')} gateway: {len(servers)} entry points on {layout.addresses['entry']}",
        flush=True,
    )
    await stop.wait()
    for server in servers:
        server.close()


def main(argv: list[str]) -> int:
    try:
        layout = load_layout(Path(argv[0]))
    except LabError as exc:
        print(exc, file=sys.stderr)
        return 1
    asyncio.run(serve(layout))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
