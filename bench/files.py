"""What files cost: `opsbot kpi import` of a long KPI CSV, importing it again unchanged,
and `opsbot export --format json` of the database it made, next to the floor a plain
sqlite3 script sets for the same rows.

`file_figures` returns `(name, unit, samples, note)` tuples, not `bench.__main__.Figure`s,
so that this module never imports the runner that imports it.

The import figures are timed in this process, through `import_kpi_csv` in one
`transaction` as the CLI calls it, so that they compare with the sqlite3 floor and carry no
interpreter start. The peak-memory figures are a real `opsbot kpi import` / `opsbot
export` process each (its `ru_maxrss` from `os.wait4`), and the export figure is timed in
that process too, start included, since that is what a person waits for.
"""

from __future__ import annotations

import csv
import io
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

import yaml

from bot.core.clock import FrozenClock
from bot.runtime.app import OpsBot
from bot.runtime.settings import settings_from
from bot.vocab.metrics import METRIC_KEYS
from handlers.kpi_import import import_kpi_csv
from storage.db import transaction

# (name, unit, samples, note): `bench.__main__` turns each into a Figure.
FileFigure = tuple[str, str, list[float], str]

NOW_TEXT = "2026-11-23T10:00:00+08:00"  # Monday 10:00 in Shanghai, as in bench/__main__.py
TODAY = date(2026, 11, 23)
TEAM = "bench"
# The built-in platforms: a file names them, none needs to be configured.
PLATFORMS = ("wechat", "xiaohongshu", "douyin", "weibo", "zhihu", "bilibili", "channels",
             "miniprogram", "toutiao")  # fmt: skip
FLOOR_UPSERT = (
    "INSERT INTO kpi_daily (team_id, platform, day, metric, value, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (team_id, platform, metric, day) DO UPDATE "
    "SET value = excluded.value, updated_at = excluded.updated_at "
    "WHERE kpi_daily.value IS NOT excluded.value"
)


def kpi_csv(lines: int) -> bytes:
    """A long KPI CSV (`date,platform,metric,value`) of `lines` distinct values: every
    platform and metric of a day, day after day back from yesterday."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("date", "platform", "metric", "value"))
    written, day = 0, TODAY - timedelta(days=1)
    while written < lines:
        for platform in PLATFORMS:
            for metric in METRIC_KEYS:
                if written == lines:
                    break
                value = (written * 7919) % 100_000
                writer.writerow(
                    (day.isoformat(), platform, metric, value / 4 if written % 5 else value)
                )
                written += 1
        day -= timedelta(days=1)
    return out.getvalue().encode()


def _config(directory: Path, database: Path) -> Path:
    path = directory / f"{database.stem}.yaml"
    members = [{"id": "alice", "role": "admin"}]
    document = {
        "locale": "en",
        "storage": {"url": f"sqlite:///{database}"},
        "teams": [{"id": TEAM, "name": "Bench", "members": members}],
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _open(config: Path) -> OpsBot:
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    return OpsBot.open(settings_from(document), FrozenClock(datetime.fromisoformat(NOW_TEXT)))


def _import(bot: OpsBot, file: Path) -> tuple[int, int, int, int]:
    now = bot.clock.now()
    with transaction(bot.engine) as session:
        report = import_kpi_csv(
            session, file.read_bytes(), team_id=TEAM, content_platforms=bot.content_platforms,
            default_platform=None, today=TODAY, now=now, filename=file.name,
        )  # fmt: skip
    return report.imported, report.updated, report.unchanged, len(report.rejected)


def _floor(database: Path, file: Path) -> None:
    """What a plain script does: csv.reader over the file, float() of each value, and one
    executemany upsert in one transaction, with the pragmas opsbot's engine sets."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    stamp = "2026-11-23 02:00:00.000000"
    with file.open(encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        next(reader)
        rows = [(TEAM, platform, day, metric, float(value), stamp)
                for day, platform, metric, value in reader]  # fmt: skip
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(FLOOR_UPSERT, rows)
    connection.execute("COMMIT")
    connection.close()


# Runs `opsbot` in the child and reports its peak RSS from /proc (VmHWM). Not the rusage
# of wait4: on Linux a child's ru_maxrss starts from its parent's RSS at fork (the mm it
# had before exec), so every child of a 200 MB benchmark would "peak" at 200 MB.
_PEAK_MARK = "opsbot-bench-peak-kib"
_RUN_WITH_PEAK = f"""
import atexit, runpy, sys
def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write("\\n{_PEAK_MARK} " + kib + "\\n")
atexit.register(peak)
module = sys.argv.pop(1)
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


_CHILD_CPU: list[float] = []


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu(samples: list[float]) -> str:
    return f"CPU {statistics.median(samples):.2f} s"


def _process(
    arguments: list[str], *, stdout: Path | None = None, module: str = "bot"
) -> tuple[float, float]:
    """Run `python -m <module> …` (`opsbot …`) in a process of its own and return its
    wall time (s, interpreter start included) and its peak RSS (MiB). Its CPU time is
    added to `_CHILD_CPU`: on a shared machine the wall time says little by itself."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OPSBOT_")}
    environment["OPSBOT_NOW"] = NOW_TEXT
    used = _children_cpu()
    with open(stdout or os.devnull, "wb") as sink:
        started = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-c", _RUN_WITH_PEAK, module, *arguments], stdout=sink,
            stderr=subprocess.PIPE, env=environment, cwd=Path(__file__).resolve().parents[1],
            check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    _CHILD_CPU.append(_children_cpu() - used)
    errors = process.stderr.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(arguments)} failed: {errors[-2000:]}")
    kib = next(line.split()[1] for line in errors.splitlines() if line.startswith(_PEAK_MARK))
    return elapsed, int(kib) / 1024


def file_figures(directory: Path, lines: int, repeats: int) -> list[FileFigure]:
    """Import, re-import, the sqlite3 floor, export and peak memory for a file of `lines`."""
    directory.mkdir(parents=True, exist_ok=True)
    file = directory / f"kpi-{lines}.csv"
    file.write_bytes(kpi_csv(lines))
    pristine = directory / "files-pristine.db"
    _open(_config(directory, pristine)).engine.dispose()  # a migrated, empty database

    imports: list[float] = []
    again: list[float] = []
    floors: list[float] = []
    cpu: dict[str, list[float]] = {"import": [], "again": [], "floor": []}

    def timed(kind: str, samples: list[float], action: Callable[[], object]) -> object:
        started, used = time.perf_counter(), time.process_time()
        result = action()
        samples.append(time.perf_counter() - started)
        cpu[kind].append(time.process_time() - used)
        return result

    for run in range(repeats):
        database = directory / f"files-{run}.db"
        shutil.copy(pristine, database)
        bot = _open(_config(directory, database))
        counts = timed("import", imports, partial(_import, bot, file))
        if counts != (lines, 0, 0, 0):
            raise RuntimeError(f"the import reported {counts}, not {lines} new lines")
        counts = timed("again", again, partial(_import, bot, file))
        if counts != (0, 0, lines, 0):
            raise RuntimeError(f"importing again reported {counts}, not {lines} unchanged lines")
        bot.engine.dispose()
        floor = directory / f"floor-{run}.db"
        shutil.copy(pristine, floor)
        timed("floor", floors, partial(_floor, floor, file))

    # The last run's database is the one exported; a fresh one is imported by a process.
    exported = directory / f"files-{repeats - 1}.db"
    export_config = _config(directory, exported)
    exports: list[float] = []
    export_peaks: list[float] = []
    export_cpu: list[float] = []
    streams: list[float] = []
    stream_peaks: list[float] = []
    stream_cpu: list[float] = []
    for _ in range(repeats):
        seconds, peak = _process(
            ["export", "--format", "json", "--config", str(export_config)],
            stdout=directory / "export.json",
        )
        exports.append(seconds)
        export_peaks.append(peak)
        export_cpu.append(_CHILD_CPU[-1])
        seconds, peak = _process(
            ["stream-export", str(export_config), str(directory / "streamed.json")],
            module="bench.files",
        )
        streams.append(seconds)
        stream_peaks.append(peak)
        stream_cpu.append(_CHILD_CPU[-1])
    size = (directory / "export.json").stat().st_size
    same = (directory / "export.json").read_bytes() == (directory / "streamed.json").read_bytes()
    if not same:
        raise RuntimeError("the streamed export differs from `opsbot export --format json`")
    cli = directory / "files-cli.db"
    shutil.copy(pristine, cli)
    cli_config = _config(directory, cli)
    arguments = ["kpi", "import", str(file), "--config", str(cli_config)]
    import_seconds, import_peak = _process(arguments)
    again_seconds, again_peak = _process(arguments)

    ratio = statistics.median(imports) / statistics.median(floors)
    label = f"{lines:,} lines"
    return [
        (f"kpi import, {label}", "s", imports,
         f"long CSV, new database, in process, {_cpu(cpu['import'])}; "
         f"{ratio:.1f}× the sqlite3 floor"),
        (f"kpi import again, unchanged, {label}", "s", again,
         f"every line reported unchanged, in process, {_cpu(cpu['again'])}"),
        (f"sqlite3 executemany upsert floor, {label}", "s", floors,
         f"csv.reader + float() + one executemany upsert, one transaction, {_cpu(cpu['floor'])}"),
        (f"export --format json, {label}", "s", exports,
         f"opsbot process, start included, {_cpu(export_cpu)}; {size / 2**20:.0f} MiB of JSON"),
        (f"export --format json, {label}: peak RSS", "MiB", export_peaks, "opsbot process"),
        (f"export json streamed (stream_tables → write_json), {label}", "s", streams,
         f"a process of its own, start included, {_cpu(stream_cpu)}; the same bytes as "
         "opsbot export"),
        (f"export json streamed, {label}: peak RSS", "MiB", stream_peaks, "that process"),
        (f"kpi import, {label}: peak RSS", "MiB", [import_peak],
         f"opsbot process, {import_seconds:.1f} s start included, {_cpu(_CHILD_CPU[-2:-1])}"),
        (f"kpi import again, {label}: peak RSS", "MiB", [again_peak],
         f"opsbot process, {again_seconds:.1f} s start included, {_cpu(_CHILD_CPU[-1:])}"),
    ]  # fmt: skip


def stream_export(config: Path, out: Path) -> None:
    """What `opsbot export --format json --out` does, with the rows streamed from the
    database to the file (`stream_tables` → `write_json`, one snapshot)."""
    from bot.chat import CHAT_PLATFORM_NAMES
    from bot.runtime.export import write_json
    from storage.db import snapshot
    from storage.export import stream_tables

    bot = _open(config)
    zones = {team.id: team.zone for team in bot.settings.teams}
    default = bot.settings.team().zone
    with snapshot(bot.engine) as session, out.open("w", encoding="utf-8") as stream:
        tables = stream_tables(
            session, zone_for_team=lambda team: zones.get(team, default),
            chat_platforms=CHAT_PLATFORM_NAMES,
        )  # fmt: skip
        write_json(tables, stream)
    bot.engine.dispose()


if __name__ == "__main__":  # python -m bench.files [lines [repeats]] | stream-export CONFIG OUT
    import tempfile

    if sys.argv[1:2] == ["stream-export"]:
        stream_export(Path(sys.argv[2]), Path(sys.argv[3]))
        raise SystemExit(0)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    times = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    with tempfile.TemporaryDirectory() as folder:
        for name, unit, samples, note in file_figures(Path(folder), count, times):
            shown = ", ".join(f"{sample:.2f}" for sample in samples)
            print(f"{name}: {shown} {unit}  ({note})")
