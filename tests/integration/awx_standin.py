"""AWX contract stand-in — NOT AWX. AWX needs Kubernetes and cannot run in these tests.

A small HTTP server on 127.0.0.1 that speaks the documented AWX REST contract for exactly the
endpoints bcdrill's `awx` steps use, with the response shapes recorded in `awx_contract/` (each with
its source in the AWX code and documentation), and runs every job with real ansible-runner
(`awx_standin_engine.py`), so job events, their times, failures and cancellation are real:

    GET  /api/                      (AWX: current_version /api/v2/; AAP mode: a gateway root)
    GET  /api/controller/           (AAP mode: current_version /api/controller/v2/)
    GET  R/job_templates/?name=     R/job_templates/N/     GET|POST R/job_templates/N/launch/
    GET  R/workflow_job_templates/?name=   …/N/            GET|POST …/N/launch/
    GET  R/inventories/?name=
    GET  R/jobs/N/   R/jobs/N/job_events/?counter__gt=&order_by=counter&page=&page_size=   R/jobs/N/stdout/
    GET|POST R/jobs/N/cancel/       GET R/workflow_jobs/N/   R/workflow_jobs/N/workflow_nodes/
    GET|POST R/workflow_jobs/N/cancel/    GET R/workflow_approvals/N/   POST …/N/approve/ …/N/deny/

R is /api/v2/ (mode "awx") or /api/controller/v2/ (mode "aap"). Every request but the two roots
needs `Authorization: Bearer <token>` (401 otherwise, as AWX). Every request is recorded in
`requests` (method, path, query, body) for the tests to look at.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import awx_standin_views as views
from awx_standin_engine import Engine, JobTemplate, WorkflowTemplate

INVENTORY = (
    "[all:vars]\nansible_connection=local\nansible_python_interpreter='{{ ansible_playbook_python }}'\n"
    "[dr]\ndr-1\n[prod]\nprod-1\n"
)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorized: bool


@dataclass
class StandIn:
    """The stand-in's state; `serve()` starts it on a free loopback port."""

    token: str
    workdir: Path
    mode: str = "awx"  # awx | aap
    job_templates: dict[int, JobTemplate] = field(default_factory=dict)
    workflows: dict[int, WorkflowTemplate] = field(default_factory=dict)
    inventories: dict[int, str] = field(default_factory=lambda: {1: "drill-inventory"})
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        inventory = self.workdir / "inventory.ini"
        inventory.write_text(INVENTORY, encoding="utf-8")
        self.engine = Engine(inventory)
        self._server: ThreadingHTTPServer | None = None

    @property
    def root(self) -> str:
        return "/api/controller/v2/" if self.mode == "aap" else "/api/v2/"

    def add_template(self, name: str, playbook: Path, **options: Any) -> JobTemplate:
        template = JobTemplate(id=len(self.job_templates) + 7, name=name, playbook=str(playbook), **options)
        self.job_templates[template.id] = template
        return template

    def add_workflow(self, name: str, nodes: list[tuple[str, str]], **options: Any) -> WorkflowTemplate:
        """`nodes`: ("job", job template name) or ("approval", approval name), run in this order."""
        by_name = {t.name: t.id for t in self.job_templates.values()}
        resolved = [(kind, n, by_name.get(n) if kind == "job" else None) for kind, n in nodes]
        workflow = WorkflowTemplate(id=len(self.workflows) + 40, name=name, nodes=resolved, **options)
        self.workflows[workflow.id] = workflow
        return workflow

    def serve(self) -> str:
        """Start serving; the controller URL."""
        handler = _handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="awx-standin", daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.engine.close()

    def launches(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/launch/")]

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        """(status, JSON body or text) of one authorized request below the API root."""
        for pattern, allowed, view in ROUTES:
            match = re.fullmatch(pattern, path)
            if match is not None:
                if method not in allowed:
                    return 405, {"detail": f'Method "{method}" not allowed.'}
                return view(self, method, query, body, *match.groups())
        return 404, {"detail": "Not found."}


View = Callable[..., tuple[int, Any]]
ROUTES: list[tuple[str, tuple[str, ...], View]] = [
    (r"job_templates/", ("GET",), views.job_templates),
    (r"job_templates/(\d+)/", ("GET",), views.job_template),
    (r"job_templates/(\d+)/launch/", ("GET", "POST"), views.job_template_launch),
    (r"workflow_job_templates/", ("GET",), views.workflow_templates),
    (r"workflow_job_templates/(\d+)/", ("GET",), views.workflow_template),
    (r"workflow_job_templates/(\d+)/launch/", ("GET", "POST"), views.workflow_launch),
    (r"inventories/", ("GET",), views.inventories),
    (r"jobs/(\d+)/", ("GET",), views.job),
    (r"jobs/(\d+)/job_events/", ("GET",), views.job_events),
    (r"jobs/(\d+)/stdout/", ("GET",), views.stdout),
    (r"(jobs|workflow_jobs)/(\d+)/cancel/", ("GET", "POST"), views.cancel),
    (r"workflow_jobs/(\d+)/", ("GET",), views.workflow_job),
    (r"workflow_jobs/(\d+)/workflow_nodes/", ("GET",), views.workflow_nodes),
    (r"workflow_approvals/(\d+)/", ("GET",), views.approval),
    (r"workflow_approvals/(\d+)/(approve|deny)/", ("POST",), views.decide),
]


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "AWX-contract-stand-in"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            body = self._body()
            authorized = self.headers.get("Authorization") == f"Bearer {state.token}"
            state.requests.append(Seen(method, parts.path, query, body, authorized))
            status, answer = self._answer(method, parts.path, query, body, authorized)
            self._send(status, answer)

        def _answer(self, method: str, path: str, query: Any, body: Any, authorized: bool) -> tuple[int, Any]:
            root = views.api_root(state, path)
            if root is not None:
                return root
            if not path.startswith(state.root):
                return 404, {"detail": "Not found."}
            if self.headers.get("Authorization") is None:
                return 401, {"detail": "Authentication credentials were not provided."}
            if not authorized:
                return 401, {"detail": "Invalid token."}
            if isinstance(body, views.BadBody):
                return 400, {"detail": f"JSON parse error - {body}"}
            return state.route(method, path[len(state.root) :], query, body)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return None
            raw = self.rfile.read(length)
            try:
                return json.loads(raw)
            except ValueError as exc:
                return views.BadBody(str(exc))

        def _send(self, status: int, answer: Any) -> None:
            if answer is None:
                payload, kind = b"", "application/json"
            elif isinstance(answer, str):
                payload, kind = answer.encode(), "text/plain"
            else:
                payload, kind = json.dumps(answer).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="api"')
            self.end_headers()
            self.wfile.write(payload)

    return Handler
