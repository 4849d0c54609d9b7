"""How long the `opsbot` command takes to start, against the floor of importing SQLAlchemy.

Every sample is a fresh interpreter, timed from spawn to exit: what a person or a cron job
waits for. The commands run in turns (floor, `--help`, `db upgrade`, `digest`, then again)
so that a machine that slows down meanwhile slows every figure alike, after one warm-up
turn that fills the file cache and compiles the bytecode, kept in a temporary
`PYTHONPYCACHEPREFIX` as an installed package keeps its own (whatever
`PYTHONDONTWRITEBYTECODE` says, and without writing into the checkout). The commands that
touch the database work on a SQLite file that is already at the newest revision, with the
shipped `config.yaml`.

`python -m bench.startup [repeats]` prints the figures; `startup_figures` returns them.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
FLOOR = 'python -c "import sqlalchemy"'

# name → arguments after the interpreter; the floor first (the others are measured against it).
COMMANDS: dict[str, tuple[str, ...]] = {
    FLOOR: ("-c", "import sqlalchemy"),
    "opsbot --help": ("-m", "bot", "--help"),
    "opsbot db upgrade (database already upgraded)": ("-m", "bot", "db", "upgrade"),
    "opsbot digest (opens the bot, builds a digest)": ("-m", "bot", "digest"),
}


class Sample(NamedTuple):
    wall: float  # seconds from spawn to exit
    cpu: float  # seconds of CPU, user and system


def _environment(folder: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OPSBOT_") and key != "PYTHONDONTWRITEBYTECODE"
    }
    environment["PYTHONPYCACHEPREFIX"] = str(folder / "bytecode")
    environment["OPSBOT_DATABASE_URL"] = f"sqlite:///{folder / 'opsbot.db'}"
    environment["OPSBOT_NOW"] = "2026-11-23T10:00:00+08:00"  # the same digest every time
    # The checkout first, as `python -m bot` from it finds it, installed or not.
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, (str(ROOT), environment.get("PYTHONPATH")))
    )
    return environment


def _seconds(arguments: tuple[str, ...], folder: Path, environment: dict[str, str]) -> Sample:
    """Wall-clock and CPU seconds of one run (CPU: user + system, of the child alone)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *arguments], cwd=folder, env=environment,
        stdin=subprocess.DEVNULL, capture_output=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        words = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"{' '.join(arguments)} exited {result.returncode}: {words}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Sample(elapsed, cpu)


def startup_figures(repeats: int) -> list[tuple[str, str, list[float], str]]:
    """(name, unit, samples, note) for each command of `COMMANDS`, `repeats` samples each
    of wall-clock milliseconds; the note gives the median as a multiple of the floor's,
    and the median CPU time, which a busy machine disturbs less, with its own multiple."""
    with tempfile.TemporaryDirectory(prefix="opsbot-startup-") as name:
        folder = Path(name)
        shutil.copy(ROOT / "config.yaml", folder / "config.yaml")
        environment = _environment(folder)
        samples: dict[str, list[Sample]] = {command: [] for command in COMMANDS}
        for turn in range(repeats + 1):
            for command, arguments in COMMANDS.items():
                sample = _seconds(arguments, folder, environment)
                if turn > 0:  # the first turn upgrades the database and warms the caches
                    samples[command].append(sample)
    floor_wall = statistics.median(sample.wall for sample in samples[FLOOR])
    floor_cpu = statistics.median(sample.cpu for sample in samples[FLOOR])
    figures = []
    for command, runs in samples.items():
        wall = statistics.median(sample.wall for sample in runs)
        cpu = statistics.median(sample.cpu for sample in runs)
        note = (
            f"the floor: a fresh interpreter that imports SQLAlchemy; CPU {cpu * 1000:.0f} ms"
            if command == FLOOR
            else f"{wall / floor_wall:.2f}× the floor (median); "
            f"CPU {cpu * 1000:.0f} ms, {cpu / floor_cpu:.2f}× the floor's"
        )
        figures.append((f"start-up: {command}", "ms", [s.wall * 1000 for s in runs], note))
    return figures


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    figures = startup_figures(repeats)
    width = max(len(name) for name, *_ in figures)
    print(f"{'benchmark':<{width}}  {'median':>8}  {'min':>8}  {'max':>8}  unit")
    for name, unit, values, note in figures:
        print(
            f"{name:<{width}}  {statistics.median(values):8.1f}  {min(values):8.1f}  "
            f"{max(values):8.1f}  {unit}  {note}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
