"""Engine benchmarks (issue 2). Not tests: run by hand, figures go to bench/RESULTS.md.

    .venv/bin/python bench/bench_engine.py            # all
    .venv/bin/python bench/bench_engine.py startup spawn

Each benchmark prints one line: name, measured figure, target, verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRILL = [sys.executable, "-m", "bcdrill.cli"]
WORK = Path(tempfile.mkdtemp(prefix="bcdrill-bench-"))


def timed_child(argv: list[str]) -> tuple[float, int, int]:
    """Run argv; (wall seconds, exit code, peak RSS in MB of that child)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=WORK)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, proc.returncode, usage.ru_maxrss // 1024


def journal(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()]


def write_scenario(name: str, steps: list[str]) -> Path:
    path = WORK / f"{name}.yaml"
    head = f"version: 1\nname: {name}\ntitle: bench {name}\nenvironment: lab\n"
    head += "defaults: {on_failure: continue}\nsteps:\n"
    path.write_text(head + "\n".join(steps) + "\n")
    return path


def run_scenario(path: Path, *extra: str) -> tuple[Path, float, int, int]:
    run_dir = WORK / f"run-{path.stem}-{time.time_ns()}"
    wall, code, rss = timed_child([*DRILL, "run", str(path), "--run-dir", str(run_dir), *extra])
    return run_dir, wall, code, rss


def finished_t(events: list[dict[str, object]], name: str) -> float:
    return next(float(str(e["t"])) for e in events if e["event"] == name)


def bench_startup() -> str:
    runs = [timed_child([str(ROOT / ".venv/bin/drill"), "--help"])[0] for _ in range(10)]
    best, median = min(runs), sorted(runs)[len(runs) // 2]
    return (
        f"startup `drill --help`: median {median * 1000:.0f} ms (best {best * 1000:.0f} ms); target <= 150 ms"
    )


def bare_spawn_cost(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        subprocess.Popen(
            ["true"], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ).communicate()
    return (time.perf_counter() - start) / n


def spawn_round(path: Path, n: int) -> tuple[float, float, int]:
    """(per-step seconds inside the run, bare spawn seconds measured right after, exit code)."""
    run_dir, _, code, _ = run_scenario(path)
    events = journal(run_dir)
    first = min(float(str(e["t"])) for e in events if e["event"] == "step.started")
    last = max(float(str(e["t"])) for e in events if e["event"] == "step.finished")
    return (last - first) / n, bare_spawn_cost(n), code


def bench_spawn() -> str:
    n, rounds = 200, 5
    path = write_scenario("spawn", [f"  - {{id: s{i}, run: ['true']}}" for i in range(n)])
    results = sorted((spawn_round(path, n) for _ in range(rounds)), key=lambda r: r[0] - r[1])
    overheads = [(step - bare) * 1000 for step, bare, _ in results]
    step, bare, code = results[rounds // 2]
    return (
        f"200 x `true`, fsynced journal ({rounds} rounds, median): {step * 1000:.2f} ms/step, bare spawn "
        f"{bare * 1000:.2f} ms, overhead {(step - bare) * 1000:.2f} ms/step (range {overheads[0]:.2f}-"
        f"{overheads[-1]:.2f}; exit {code}); target <= 1.0 ms"
    )


def bench_width() -> str:
    layers, width, nap = 10, 10, 0.5
    steps = []
    for layer in range(layers):
        needs = [f"l{layer - 1}s{i}" for i in range(width)] if layer else []
        for i in range(width):
            steps.append(f"  - {{id: l{layer}s{i}, needs: {json.dumps(needs)}, run: [sleep, '{nap}']}}")
    path = write_scenario("width", steps)
    run_dir, _, code, _ = run_scenario(path, "--parallel", str(width))
    events = journal(run_dir)
    first = min(float(str(e["t"])) for e in events if e["event"] == "step.started")
    last = max(float(str(e["t"])) for e in events if e["event"] == "step.finished")
    ratio = (last - first) / (layers * nap)
    return (
        f"100 x `sleep 0.5`, DAG width 10 (10 layers): wall {last - first:.3f} s, critical path "
        f"{layers * nap:.1f} s, ratio {ratio:.4f} (exit {code}); target <= 1.03"
    )


def bench_big() -> str:
    n = 10_000
    steps = [
        f"  - {{id: w{i}, wait: 0{', needs: [w' + str(i - 100) + ']' if i >= 100 else ', needs: []'}}}"
        for i in range(n)
    ]
    path = write_scenario("big", steps)
    code = (
        "import sys,time; t=time.perf_counter(); from bcdrill.scenario.loader import load_scenario; "
        "from bcdrill.plan.build import build_plan; from bcdrill.plan.formats import render_plan; "
        "s=load_scenario(sys.argv[1]); "
        "p=build_plan(s); render_plan(p,'text'); render_plan(p,'json'); "
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    validate_plan = float(out.stdout.strip())
    run_dir, run_wall, run_code, run_rss = run_scenario(path, "--parallel", "8")
    events = journal(run_dir)
    run_inner = finished_t(events, "run.finished")
    report_wall, report_code, report_rss = timed_child([*DRILL, "report", str(run_dir)])
    return (
        f"10,000 steps: validate+plan {validate_plan:.2f} s (target <= 2 s); run {run_wall:.2f} s wall, "
        f"{run_inner:.2f} s in journal (exit {run_code}; target <= 10 s); report {report_wall:.2f} s "
        f"(exit {report_code}; target <= 3 s); peak RSS run {run_rss} MB, report {report_rss} MB "
        f"(target <= 300 MB)"
    )


def bare_sleep(nominal: float, n: int) -> float:
    """Median wall time of spawning `sleep NOMINAL` directly (what a step's true duration is)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(["sleep", str(nominal)], check=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[n // 2]


def bench_precision() -> str:
    nominal = 0.25
    steps = [f"  - {{id: r{i}, run: [sleep, '{nominal}']}}" for i in range(10)]
    steps += [f"  - {{id: w{i}, wait: {nominal}s}}" for i in range(10)]
    path = write_scenario("precision", steps)
    run_dir, _, code, _ = run_scenario(path)
    bare = bare_sleep(nominal, 10)
    errors_run, errors_wait = [], []
    for e in journal(run_dir):
        if e["event"] == "step.finished":
            duration = float(str(e["duration"]))
            if str(e["step"]).startswith("r"):
                errors_run.append(abs(duration - bare))
            else:
                errors_wait.append(abs(duration - nominal))
    return (
        f"duration accuracy: `sleep 0.25` steps max error {max(errors_run) * 1000:.2f} ms against a bare "
        f"`sleep 0.25` ({bare * 1000:.2f} ms), `wait: 0.25s` max error {max(errors_wait) * 1000:.2f} ms "
        f"(exit {code}); target <= 5 ms"
    )


BENCHES: dict[str, Callable[[], str]] = {
    "startup": bench_startup,
    "spawn": bench_spawn,
    "width": bench_width,
    "big": bench_big,
    "precision": bench_precision,
}


def main(names: list[str]) -> None:
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, work dir {WORK}")
    for name in names or list(BENCHES):
        print(f"- {BENCHES[name]()}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
