"""bcdrill beside its open-source peer, Chaos Toolkit, on the same machine in one run.

    python bench/bench_peers.py [--install-chaostoolkit] [--chaos PATH] [--rounds N]
                                [--no-memory | --only-memory] [--sizes 10000,30000,50000]

Runs, interleaved round by round so that both tools see the same machine load:
- 1 step / 1 activity and 200 steps / 200 activities running `true` (a local process each; bcdrill's
  journal is fsynced as it goes, one fdatasync per step; Chaos Toolkit writes its journal.json at the end);
- 20 × `sleep 0.1`;
and reports medians, the per-step cost of each tool ((T200 − T1) / 199), bcdrill's per-step overhead
above a bare spawn of `true` measured in the same run (subprocess.run, the usual way, which Chaos Toolkit
uses; also shown above a bare os.posix_spawnp, the way bcdrill starts a command), and the ratios the targets
are stated in:
  overhead per step ≤ 0.5 × Chaos Toolkit's per-activity time; 1 step ≤ 1.5 × 1 activity.
Then (unless --no-memory) the peak RSS of `drill run`, `drill report` and `drill verify` at 10,000, 30,000
and 50,000 `wait: 0` steps (target ≤ 300 MB at 50,000 and growth linear in steps: the MB per 1,000 more
steps between two sizes is printed, the same from 10,000 to 30,000 as from 30,000 to 50,000 when linear),
and of `drill resume` of the largest run interrupted (SIGINT) once half its steps had ended.

Chaos Toolkit is not a dependency of bcdrill: `--install-chaostoolkit` installs it into a throw-away
virtualenv under the work directory; `--chaos PATH` uses an existing `chaos` executable. Without either,
only bcdrill's figures are printed. A benchmark, not a test: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WORK = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="bcdrill-peers-"))
WORK.mkdir(parents=True, exist_ok=True)
DRILL = [sys.executable, "-m", "bcdrill.cli"]


def timed(argv: list[str], cwd: Path = WORK) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one child process, output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_maxrss // 1024


def scenario(name: str, argv: list[str], n: int) -> Path:
    lines = [f"version: 1\nname: {name}\ntitle: {name}\nenvironment: lab\nsystems: {{}}\nsteps:"]
    lines += [f"  - {{id: s{i}, run: {json.dumps(argv)}}}" for i in range(n)]
    path = WORK / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def experiment(name: str, argv: list[str], n: int) -> Path:
    path, *args = argv
    method = [
        {
            "type": "action",
            "name": f"a{i}",
            "provider": {"type": "process", "path": path, "arguments": " ".join(args)},
        }
        for i in range(n)
    ]
    doc = {"version": "1.0.0", "title": name, "description": name, "method": method}
    out = WORK / f"{name}.json"
    out.write_text(json.dumps(doc))
    return out


def install_chaos() -> str:
    venv = WORK / "chaos-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "chaostoolkit"], check=True)
    return str(venv / "bin/chaos")


def bare_spawn(n: int = 400) -> float:
    """Median seconds of spawning `true` with a pipe and a new session (what a step must do anyway)."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(["true"], stdout=subprocess.PIPE, start_new_session=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_posix_spawn(n: int = 400) -> float:
    """Median seconds of the same with os.posix_spawnp, as bcdrill starts a command without a cwd."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        read, write = os.pipe()
        pid = os.posix_spawnp(
            "true", ["true"], os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, write, 1)], setsid=True
        )
        os.close(write)
        while os.read(read, 65536):
            pass
        os.close(read)
        os.waitpid(pid, 0)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(chaos: str | None, rounds: int) -> None:
    cases: dict[str, Callable[[int], list[str]]] = {}
    for label, argv, n in (
        ("true1", ["true"], 1),
        ("true200", ["true"], 200),
        ("sleep20", ["sleep", "0.1"], 20),
    ):
        scn = scenario(label, argv, n)
        cases[f"drill {label}"] = lambda r, scn=scn: [
            *DRILL,
            "run",
            str(scn),
            "--run-dir",
            str(WORK / f"r{r}-{scn.stem}"),
        ]
        if chaos:
            exp = experiment(label, argv, n)
            cases[f"chaos {label}"] = lambda r, exp=exp: [
                chaos,
                "--no-log-file",
                "run",
                "--journal-path",
                str(WORK / f"j{r}-{exp.stem}.json"),
                str(exp),
            ]
    times: dict[str, list[float]] = {k: [] for k in cases}
    spawns: list[float] = []
    posix_spawns: list[float] = []
    names = list(cases)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotate: nobody always goes first
        for name in order:
            times[name].append(timed(cases[name](r))[0])
        spawns.append(bare_spawn())
        posix_spawns.append(bare_posix_spawn())
    med = {k: statistics.median(v) for k, v in times.items()}
    spawn = statistics.median(spawns)
    posix_spawn = statistics.median(posix_spawns)
    print(
        f"rounds: {rounds}; bare spawn of `true`: {spawn * 1000:.3f} ms (median; subprocess.run), "
        f"{posix_spawn * 1000:.3f} ms (os.posix_spawnp)"
    )
    for k in names:
        print(f"  {k:16s} median {med[k]:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times[k])})")
    drill_step = (med["drill true200"] - med["drill true1"]) / 199
    overhead = drill_step - spawn
    print(
        f"bcdrill per step {drill_step * 1000:.3f} ms, overhead above the bare spawn "
        f"{overhead * 1000:.3f} ms (above a bare posix_spawnp: {(drill_step - posix_spawn) * 1000:.3f} ms)"
    )
    if chaos:
        chaos_step = (med["chaos true200"] - med["chaos true1"]) / 199
        print(f"Chaos Toolkit per activity {chaos_step * 1000:.3f} ms")
        print(
            f"RATIO overhead/activity {overhead / chaos_step:.3f} (target <= 0.5; above a bare posix_spawnp: "
            f"{(drill_step - posix_spawn) / chaos_step:.3f}); "
            f"1 step / 1 activity {med['drill true1'] / med['chaos true1']:.3f} (target <= 1.5); "
            f"20 x sleep 0.1: {med['drill sleep20'] / med['chaos sleep20']:.3f} x"
        )


def wait_scenario(n: int) -> Path:
    lines = [f"version: 1\nname: big{n}\ntitle: big\nenvironment: lab\nsystems: {{}}\nsteps:"]
    lines += [
        f"  - {{id: w{i}, wait: 0, needs: [{'w' + str(i - 100) if i >= 100 else ''}]}}" for i in range(n)
    ]
    path = WORK / f"big{n}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def memory(sizes: tuple[int, ...]) -> None:
    peaks: dict[str, list[tuple[int, int]]] = {"run": [], "report": [], "verify": []}
    for n in sizes:
        run_dir = WORK / f"big-run-{n}"
        run_wall, run_rss = timed([*DRILL, "run", str(wait_scenario(n)), "--run-dir", str(run_dir)])
        report_wall, report_rss = timed([*DRILL, "report", str(run_dir)])
        verify_wall, verify_rss = timed([*DRILL, "verify", str(run_dir)])
        for name, rss in (("run", run_rss), ("report", report_rss), ("verify", verify_rss)):
            peaks[name].append((n, rss))
        print(
            f"{n:>6} steps: peak RSS run {run_rss} MB ({run_wall:.1f} s), report {report_rss} MB "
            f"({report_wall:.1f} s), verify {verify_rss} MB ({verify_wall:.1f} s); target <= 300 MB"
        )
    if len(sizes) > 1:  # linear growth: the same MB per 1,000 steps between every two sizes
        for name, points in peaks.items():
            slopes = [f"{(b - a) / (m - n) * 1000:.1f}" for (n, a), (m, b) in itertools.pairwise(points)]
            print(f"  {name}: MB per 1,000 more steps {', '.join(slopes)} (from {points[0][1]} MB)")


def resume_memory(n: int) -> None:
    """Peak RSS of `drill resume` of an n-step run interrupted (SIGINT) once half its steps ended."""
    run_dir = WORK / f"big-resume-{n}"
    argv = [*DRILL, "run", str(wait_scenario(n)), "--run-dir", str(run_dir)]
    proc = subprocess.Popen(argv, cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal, lines, offset = run_dir / "journal.jsonl", 0, 0
    while proc.poll() is None and lines < n:  # two lines a step: n lines is half the steps
        time.sleep(0.05)
        if journal.exists():
            with open(journal, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
            offset += len(data)
            lines += data.count(b"\n")
    proc.send_signal(signal.SIGINT)
    if proc.wait() != 3:
        raise SystemExit(f"the interrupted run ended with {proc.returncode}, not 3")
    wall, rss = timed([*DRILL, "resume", str(run_dir)])
    print(f"{n:>6} steps, interrupted after {lines} journal lines: peak RSS resume {rss} MB ({wall:.1f} s)")


def compile_bytecode() -> None:
    """Both tools start from compiled bytecode, as an installed package does: pip compiles a wheel's
    modules (Chaos Toolkit's venv has its .pyc), while an editable checkout under
    PYTHONDONTWRITEBYTECODE=1 would recompile all of bcdrill at every start (about 0.06 s)."""
    import bcdrill

    package = Path(bcdrill.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    print(f"bytecode of {package} compiled (PYTHONDONTWRITEBYTECODE={flag})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--install-chaostoolkit", action="store_true", help="pip install chaostoolkit in a throw-away venv"
    )
    p.add_argument("--chaos", help="path of an existing `chaos` executable")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--no-memory", action="store_true", help="skip the 10,000/50,000-step memory figures")
    p.add_argument("--sizes", default="10000,30000,50000", help="step counts of the memory figures")
    p.add_argument("--only-memory", action="store_true", help="memory figures only (no comparison)")
    args = p.parse_args()
    chaos = install_chaos() if args.install_chaostoolkit else args.chaos
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}, work dir {WORK}"
    )
    compile_bytecode()
    if not args.only_memory:
        compare(chaos, args.rounds)
    if not args.no_memory:
        sizes = tuple(int(s) for s in args.sizes.split(","))
        memory(sizes)
        resume_memory(max(sizes))


if __name__ == "__main__":
    main()
