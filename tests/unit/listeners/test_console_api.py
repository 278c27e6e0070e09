"""The web console's HTTP API on a fixture journal (Starlette's TestClient; no runner: the request
files the console drops are checked on disk)."""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from journal_fixtures import JournalBuilder, live_events, write_lines
from starlette.testclient import TestClient

from bcdrill.listeners.console import app as console_app
from bcdrill.listeners.console import tokens
from bcdrill.listeners.console.app import build_app
from bcdrill.listeners.console.hub import Hub
from bcdrill.listeners.console.server import keyring_of, links
from bcdrill.run.lock import RunLock

BASE = "http://127.0.0.1:8470"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    write_lines(tmp_path / "journal.jsonl", live_events())
    return tmp_path


@pytest.fixture
def people(run_dir: Path) -> dict[str, str]:
    return {name: url.split("#t=")[1] for name, _team, _role, url in links(run_dir, BASE)}


@pytest.fixture
def log() -> list[str]:
    return []


@pytest.fixture
def client(run_dir: Path, log: list[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(console_app, "ACK_SETTLE", 0.1)
    hub = Hub(run_dir)
    app, _ = build_app(hub, keyring_of(run_dir, hub), log=log.append)
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_links_and_the_secret_file(run_dir: Path, people: dict[str, str]) -> None:
    rows = links(run_dir, BASE + "/")
    assert [(n, t, r) for n, t, r, _ in rows] == [
        ("张三", "tech", "演练总指挥 / drill commander"),
        ("赵六", "ops", "business verifier"),
        ("吴九", "office", "mail verifier"),
    ]
    assert all(url.startswith(BASE + "/#t=") for *_, url in rows)
    assert len(set(people.values())) == 3
    assert (run_dir / tokens.SECRET_FILE).stat().st_mode & 0o777 == 0o600
    assert links(run_dir, BASE) == rows  # the same secret, the same links
    (run_dir / tokens.SECRET_FILE).chmod(0o644)
    with pytest.raises(Exception, match="chmod 600"):
        links(run_dir, BASE)


def test_no_token_or_a_bad_one_is_401(client: TestClient) -> None:
    assert client.get("/api/state").status_code == 401
    r = client.get("/api/state", headers=bearer("nope"))
    assert r.status_code == 401 and "error" in r.json()
    assert client.post("/api/steps/mail-check/ack", json={"result": "pass"}).status_code == 401


def test_state_names_the_caller(client: TestClient, people: dict[str, str]) -> None:
    r = client.get("/api/state", headers=bearer(people["吴九"]))
    assert r.status_code == 200
    body = r.json()
    assert body["you"] == {"name": "吴九", "team": "office", "role": "mail verifier", "commander": False}
    assert {s["id"]: s["status"] for s in body["steps"]}["mail-check"] == "waiting"
    assert {"id", "title", "team", "status"} <= set(body["steps"][0])
    assert {"id", "rto_target"} <= set(body["systems"][0])


def test_ack_rules(client: TestClient, people: dict[str, str], run_dir: Path) -> None:
    def ack(who: str, step: str, body: object) -> int:
        return client.post(f"/api/steps/{step}/ack", headers=bearer(people[who]), json=body).status_code

    assert ack("赵六", "mail-check", {"result": "pass"}) == 403  # ops, the step is office's
    assert ack("吴九", "promote", {"result": "pass"}) == 403
    assert ack("张三", "promote", {"result": "pass"}) == 409  # a commander, but promote does not wait
    assert ack("吴九", "nope", {"result": "pass"}) == 404
    assert ack("吴九", "mail-check", {"result": "fail"}) == 422  # a fail needs a note
    assert ack("吴九", "mail-check", {"result": "not_tested", "note": " "}) == 422
    assert ack("吴九", "mail-check", {"result": "maybe"}) == 422
    assert ack("吴九", "mail-check", ["pass"]) == 422
    assert ack("吴九", "mail-check", {"result": "pass", "evidence": ["x"]}) == 422
    assert ack("吴九", "mail-check", {"result": "pass", "evidence": ["ab" * 32]}) == 422  # not uploaded
    r = client.post("/api/steps/mail-check/ack", headers=bearer(people["吴九"]), content=b"{not json")
    assert r.status_code == 422
    assert not (run_dir / "acks" / "mail-check.json").exists()
    assert ack("吴九", "mail-check", {"result": "fail", "note": "no mail at DR"}) == 202  # no runner here
    dropped = json.loads((run_dir / "acks" / "mail-check.json").read_text(encoding="utf-8"))
    assert dropped["by"] == "吴九" and dropped["result"] == "fail" and dropped["via"] == "console"
    assert dropped["role"] == "mail verifier" and dropped["client"] == "testclient"
    assert ack("张三", "mail-check", {"result": "pass"}) == 409  # already acknowledged by 吴九


def test_evidence_upload_then_ack(client: TestClient, people: dict[str, str], run_dir: Path) -> None:
    data = b"\x89PNG fake screenshot"
    headers = {**bearer(people["吴九"]), "X-File-Name": "mail%20ok%20%E6%88%AA%E5%9B%BE.png"}
    r = client.post("/api/steps/mail-check/evidence", headers=headers, content=data)
    assert r.status_code == 202, r.text
    digest = hashlib.sha256(data).hexdigest()
    assert r.json()["sha256"] == digest and r.json()["name"] == "mail ok 截图.png"
    assert (run_dir / r.json()["file"]).read_bytes() == data
    [request] = (run_dir / "requests").glob("*.json")
    assert json.loads(request.read_text(encoding="utf-8"))["sha256"] == digest
    assert client.post("/api/steps/mail-check/evidence", headers=headers, content=b"").status_code == 422
    other = {**bearer(people["赵六"]), "X-File-Name": "x.png"}
    assert client.post("/api/steps/mail-check/evidence", headers=other, content=data).status_code == 403
    body = {"result": "pass", "note": "sent and received", "evidence": [digest]}
    r = client.post("/api/steps/mail-check/ack", headers=bearer(people["吴九"]), json=body)
    assert r.status_code == 202
    dropped = json.loads((run_dir / "acks" / "mail-check.json").read_text(encoding="utf-8"))
    assert dropped["evidence"] == [digest]


def test_too_large_bodies_are_413(client: TestClient, people: dict[str, str]) -> None:
    big = {"result": "pass", "note": "x" * (console_app.MAX_JSON + 10)}
    r = client.post("/api/steps/mail-check/ack", headers=bearer(people["吴九"]), json=big)
    assert r.status_code == 413


def test_commander_actions(client: TestClient, people: dict[str, str], run_dir: Path) -> None:
    def post(who: str, path: str, body: object) -> int:
        return client.post(path, headers=bearer(people[who]), json=body).status_code

    assert post("赵六", "/api/hold", {"reason": "x"}) == 403
    assert post("张三", "/api/hold", {}) == 422
    assert post("张三", "/api/hold", {"reason": "network team asks"}) == 202
    [request] = (run_dir / "requests").glob("*.json")
    req = json.loads(request.read_text(encoding="utf-8"))
    assert (req["action"], req["by"], req["reason"], req["via"]) == (
        "hold",
        "张三",
        "network team asks",
        "console",
    )
    assert post("张三", "/api/steps/mail-check/skip", {}) == 422
    assert post("吴九", "/api/steps/mail-check/skip", {"reason": "x"}) == 403
    assert post("张三", "/api/steps/promote/skip", {"reason": "x"}) == 409  # not waiting
    assert post("张三", "/api/steps/mail-check/skip", {"reason": "mail is out of scope"}) == 202
    skip = json.loads((run_dir / "acks" / "mail-check.json").read_text(encoding="utf-8"))
    assert skip["result"] == "skip" and skip["note"] == "mail is out of scope"
    with RunLock(run_dir):  # a live runner: retry/mark-done are for a stopped run
        assert post("张三", "/api/steps/promote/mark-done", {"reason": "checked"}) == 409


def test_decisions_for_a_stopped_run(run_dir: Path, people: dict[str, str], log: list[str]) -> None:
    b = JournalBuilder()
    b.records = live_events()
    b.add("step.finished", 100.0, step="promote", attempt=1, status="failed", detail="exit 1", final=True)
    b.add("run.interrupted", 101.0, reason="SIGTERM", in_flight=["mail-check"])
    b.add("run.finished", 101.0, status="interrupted", exit_code=3)
    write_lines(run_dir / "journal.jsonl", b.records)
    hub = Hub(run_dir)
    app, _ = build_app(hub, keyring_of(run_dir, hub), log=log.append)
    with TestClient(app, base_url=BASE) as client:
        boss = bearer(people["张三"])
        assert (
            client.post("/api/steps/mail-check/ack", headers=boss, json={"result": "pass"}).status_code == 409
        )
        assert client.post("/api/hold", headers=boss, json={"reason": "x"}).status_code == 409
        assert (
            client.post("/api/steps/mail-check/retry", headers=boss, json={"reason": "x"}).status_code == 409
        )
        assert (
            client.post("/api/steps/promote/mark-done", headers=boss, json={"reason": "x"}).status_code == 409
        )
        assert (
            client.post("/api/steps/promote/retry", headers=boss, json={"reason": "fixed"}).status_code == 202
        )
        r = client.post("/api/steps/mail-check/mark-done", headers=boss, json={"reason": "mail works"})
        assert r.status_code == 202 and "resume" in r.json()["applies"]
    actions = sorted(
        json.loads(p.read_text(encoding="utf-8"))["action"] for p in (run_dir / "requests").glob("*.json")
    )
    assert actions == ["mark_done", "retry"]


def test_session_cookie_needs_csrf_for_changes(client: TestClient, people: dict[str, str]) -> None:
    r = client.post("/api/session", headers=bearer(people["吴九"]))
    assert r.status_code == 200
    csrf = r.json()["csrf"]
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert client.get("/api/state").status_code == 200  # the cookie signs in
    assert client.get("/api/session").json()["csrf"] == csrf
    body = {"result": "pass"}
    assert client.post("/api/steps/mail-check/ack", json=body).status_code == 403
    assert (
        client.post("/api/steps/mail-check/ack", json=body, headers={"X-CSRF-Token": "x"}).status_code == 403
    )
    assert (
        client.post("/api/steps/mail-check/ack", json=body, headers={"X-CSRF-Token": csrf}).status_code == 202
    )
    client.cookies.clear()
    client.cookies.set("drill_session", "forged")
    assert client.get("/api/state").status_code == 401


def test_failed_logins_are_rate_limited(client: TestClient, people: dict[str, str]) -> None:
    for _ in range(tokens.FAIL_LIMIT):
        assert client.get("/api/state", headers=bearer("guess")).status_code == 401
    r = client.get("/api/state", headers=bearer(people["张三"]))  # even the right token waits now
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_bad_input_never_reaches_a_500(client: TestClient, people: dict[str, str]) -> None:
    rng = random.Random(7)
    paths = [
        "/api/steps/mail-check/ack",
        "/api/steps/%00/ack",
        "/api/steps/../ack",
        "/api/hold",
        "/api/steps/mail-check/evidence",
        "/api/steps/mail-check/skip",
        "/api/session",
        "/api/continue",
    ]
    bodies = [
        b"",
        b"null",
        b"[]",
        b"{}",
        b'{"result": null}',
        b'{"result": "pass", "note": 5}',
        b'{"result": "pass", "evidence": {"a": 1}}',
        b"\xff\xfe",
        b'{"reason": ["x"]}',
        os.urandom(64),
    ]
    for _ in range(120):
        headers = {
            **bearer(people[rng.choice(list(people))]),
            "X-File-Name": rng.choice(["", "%ZZ", "../../x", "a" * 900]),
        }
        r = client.post(rng.choice(paths), headers=headers, content=rng.choice(bodies))
        assert r.status_code < 500, (r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json")


def test_access_log_has_no_tokens_and_responses_carry_security_headers(
    client: TestClient, people: dict[str, str], log: list[str]
) -> None:
    token = people["张三"]
    r = client.get(f"/api/state?token={token}", headers=bearer(token))
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert any('"GET /api/state" 200' in line for line in log)
    assert not any(token in line for line in log)


def test_the_page_and_its_assets_are_served_without_data(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/assets/app.js" in page.text and "张三" not in page.text
    assert client.get("/assets/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/assets/style.css").status_code == 200
    assert client.get("/assets/../tokens.py").status_code == 404
