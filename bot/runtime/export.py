"""Writing the exported tables as JSON or CSV (`opsbot export`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, TextIO

from storage.export import Row


def write_json(tables: dict[str, list[Row]], out: TextIO) -> None:
    json.dump(tables, out, ensure_ascii=False, indent=2)
    out.write("\n")


def _cell(value: Any) -> Any:
    # Tags cannot contain spaces, so a space-joined list reads well and splits back exactly.
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return value


def _write_table(rows: list[Row], out: TextIO) -> None:
    if not rows:
        return
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)


def write_csv(tables: dict[str, list[Row]], out: TextIO) -> None:
    """All tables in one stream: each starts with a `# <table>` line, then its CSV."""
    for index, (name, rows) in enumerate(tables.items()):
        if index:
            out.write("\n")
        out.write(f"# {name}\n")
        _write_table(rows, out)


def write_csv_directory(tables: dict[str, list[Row]], directory: Path) -> list[Path]:
    """One `<table>.csv` per table, UTF-8 with a BOM so that Excel shows Chinese right."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in tables.items():
        path = directory / f"{name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            _write_table(rows, out)
        written.append(path)
    return written
