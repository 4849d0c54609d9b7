"""Writing the exported tables as JSON or CSV (`opsbot export`).

The tables may be lists (`export_tables`) or rows still being read (`stream_tables`):
either way each row is written as it comes, so an export of 200,000 rows never holds
them all. The JSON is byte for byte what `json.dump(tables, out, ensure_ascii=False,
indent=2)` writes; only the row objects are put together here, because the standard
encoder, once asked to indent, encodes in pure Python and took 10 s for 200,000 rows.
"""

from __future__ import annotations

import csv
import json
import json.encoder
from collections.abc import Callable, Iterable, Iterator, Mapping
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, TextIO

from storage.export import Row

Tables = Mapping[str, Iterable[Row]] | Iterable[tuple[str, Iterable[Row]]]

# Indents of `json.dump(…, indent=2)`: tables at 1, rows at 2, fields at 3.
_TABLE, _ROW, _FIELD = "\n  ", "\n    ", "\n      "
_string: Callable[[str], str] = encode_basestring  # the C one, as json.dumps uses


def _tables(tables: Tables) -> Iterable[tuple[str, Iterable[Row]]]:
    return tables.items() if isinstance(tables, Mapping) else tables


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _value(value: Any) -> str:
    """One field's value as `json.dump` writes it at the depth of a row's fields."""
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    # Lists (a topic's tags) and anything else: the standard encoder, indented to depth.
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", _FIELD)


# A row of only these is encoded by the C encoder in one call; `json.dump(indent=2)`
# would use the pure-Python one for all of it.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _flat_encoder() -> Callable[[Row], str]:
    """The C encoder with no indent (what `json.dumps` uses when not indenting), its field
    separator carrying the indent instead: an encoded value holds no newline, so the
    newlines stand only between fields. Built once: `JSONEncoder.encode` builds it anew
    on every call, which took half the time of a row."""
    separators = (f",{_FIELD}", ": ")
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=separators).encode
    encode = make(
        None, None, encode_basestring, None, separators[1], separators[0], False, False, True
    )
    return lambda row: "".join(encode(row, 0))


_flat_row = _flat_encoder()


def _row(row: Row) -> str:
    if not row:
        return "{}"
    if _SCALARS.issuperset(map(type, row.values())):
        return f"{{{_FIELD}{_flat_row(row)[1:-1]}{_ROW}}}"
    fields = ",".join(f"{_FIELD}{_string(key)}: {_value(value)}" for key, value in row.items())
    return f"{{{fields}{_ROW}}}"


# Rows joined into one write: a write per row cost as much as encoding it.
_ROWS_PER_WRITE = 1_000


def json_chunks(tables: Tables) -> Iterator[str]:
    """The export as JSON, in pieces of up to `_ROWS_PER_WRITE` rows."""
    opened = False
    for name, rows in _tables(tables):
        yield f"{',' if opened else '{'}{_TABLE}{_string(name)}: ["
        opened = True
        remaining = iter(rows)
        first = next(remaining, None)
        if first is None:
            yield "]"
            continue
        pieces = [_ROW, _row(first)]
        for row in remaining:
            pieces.append(f",{_ROW}{_row(row)}")
            if len(pieces) >= _ROWS_PER_WRITE:
                yield "".join(pieces)
                pieces.clear()
        pieces.append(f"{_TABLE}]")
        yield "".join(pieces)
    yield "\n}\n" if opened else "{}\n"


def write_json(tables: Tables, out: TextIO) -> None:
    for chunk in json_chunks(tables):
        out.write(chunk)


def _cell(value: Any) -> Any:
    # Tags cannot contain spaces, so a space-joined list reads well and splits back exactly.
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return value


def _write_table(rows: Iterable[Row], out: TextIO) -> None:
    """A header from the first row's fields, then every row (nothing for no rows)."""
    remaining = iter(rows)
    first = next(remaining, None)
    if first is None:
        return
    writer = csv.DictWriter(out, fieldnames=list(first), lineterminator="\n")
    writer.writeheader()
    writer.writerow({key: _cell(value) for key, value in first.items()})
    writer.writerows({key: _cell(value) for key, value in row.items()} for row in remaining)


def write_csv(tables: Tables, out: TextIO) -> None:
    """All tables in one stream: each starts with a `# <table>` line, then its CSV."""
    for index, (name, rows) in enumerate(_tables(tables)):
        if index:
            out.write("\n")
        out.write(f"# {name}\n")
        _write_table(rows, out)


def write_csv_directory(tables: Tables, directory: Path) -> list[Path]:
    """One `<table>.csv` per table, UTF-8 with a BOM so that Excel shows Chinese right."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in _tables(tables):
        path = directory / f"{name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            _write_table(rows, out)
        written.append(path)
    return written
