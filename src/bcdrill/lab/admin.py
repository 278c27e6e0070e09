"""An instance's admin API (JSON over HTTP) and the process entry point."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import cast

from bcdrill.lab.config import Site, load_layout
from bcdrill.lab.httpd import Handler, Request, Response, json_response, start_http
from bcdrill.lab.instance import Instance
from bcdrill.lab.replication import follow, serve_follower
from bcdrill.lab.services import start_service

_FLAGS = {"/outage": "outage", "/link": "link_up", "/replication": "replication", "/freeze": "frozen"}


def admin_handler(inst: Instance) -> Handler:
    tasks: set[asyncio.Task[None]] = set()

    async def handle(req: Request) -> Response:
        if req.method == "GET":
            return _get(inst, req)
        if req.method != "POST":
            return json_response(405, {"error": "GET or POST"})
        if req.path == "/promote":
            task = asyncio.create_task(inst.promote())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            return json_response(202, inst.status())
        if req.path == "/demote":
            inst.demote()
            return json_response(200, inst.status())
        if req.path == "/lag":
            inst.lag = float(req.json()["seconds"])
            return json_response(200, inst.status())
        if req.path in _FLAGS:
            value = bool(req.json().get("on", True))
            setattr(inst, _FLAGS[req.path], value)
            inst.log(f"{_FLAGS[req.path]} = {value}")
            return json_response(200, inst.status())
        return json_response(404, {"error": f"no route POST {req.path}"})

    return handle


def _get(inst: Instance, req: Request) -> Response:
    if req.path == "/status":
        return json_response(200, inst.status())
    if req.path == "/newest":
        origin = req.query.get("origin") or None
        return json_response(200, {"newest": inst.store.newest(origin), "origin": origin})
    if req.path == "/ids":
        return json_response(200, {"ids": [[r["id"], r["ts"]] for r in inst.store.records]})
    if req.path.startswith("/records/"):
        rec = inst.store.get(req.path.removeprefix("/records/"))
        return json_response(200, rec) if rec else json_response(404, {"error": "no such record"})
    return json_response(404, {"error": f"no route GET {req.path}"})


async def serve(inst: Instance) -> None:
    cfg, site = inst.cfg, inst.site
    host = inst.layout.addr(site)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    servers = [
        await start_service(inst, cfg.protocol, host, cfg.port(site, "svc")),
        await start_http(admin_handler(inst), host, cfg.port(site, "admin")),
        await asyncio.start_server(
            lambda r, w: serve_follower(inst, r, w), host, cfg.port(site, "repl"), reuse_address=True
        ),
    ]
    follower = asyncio.create_task(follow(inst, inst.follower))
    inst.log(f"serving {cfg.protocol} on {host}:{cfg.port(site, 'svc')} as {inst.role}, lag {inst.lag}s")
    await stop.wait()
    follower.cancel()
    for server in servers:
        server.close()
    inst.store.close()
    inst.log("stopped")


def main(argv: list[str]) -> int:
    lab_dir, system, site = Path(argv[0]), argv[1], cast(Site, argv[2])
    layout = load_layout(lab_dir)
    inst = Instance(layout, system, site)
    if site == "dr" and layout.system(system).standby_down:
        inst.log("FATAL: simulated fault standby-down: the standby will not start")
        return 1
    inst.seed()
    asyncio.run(serve(inst))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
