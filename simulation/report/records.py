"""records.csv.gz: one row per recipient per alert with every hop's timestamp, for audit.

After the tracker's fields and `latency_s` come the staffed attempts (a town officer's call, a
door-knock arranged): their channels, and when staff was requested and granted, one value per
attempt joined by `|` in the order they were asked for (a grant left empty: still queued when
the run ended).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dispatcher.core.tracker import RecipientRecord

FIELDS: tuple[str, ...] = RecipientRecord._fields  # latency_s last, after the tracker's hops
STAFF_COLUMNS: tuple[str, ...] = ("staff_channels", "staff_requested_at_s", "staff_granted_at_s")
COLUMNS: tuple[str, ...] = (*FIELDS, *STAFF_COLUMNS)
StaffStamps = Mapping[tuple[str, str], Sequence[Sequence[Any]]]
TIMESTAMP_COLUMNS: tuple[str, ...] = tuple(name for name in FIELDS if name.endswith("_at_s"))
SECONDS_COLUMNS = frozenset((*TIMESTAMP_COLUMNS, "latency_s"))
SAMPLE = 1024  # leading values a column's distinct share is judged on
COMPRESS_LEVEL = 5  # about as small as 9 on this data, at a third of the time


def write_records(
    records: Iterable[RecipientRecord], path: Path, staff: StaffStamps | None = None
) -> int:
    """Write the records as gzip-compressed CSV; returns the number of rows written.

    `staff` holds each recipient's staffed attempts as `[channel, requested_s, granted_s]`.
    """
    records = list(records)
    with (
        path.open("wb") as file,
        # mtime 0 and no name inside: the same records give the same bytes
        gzip.GzipFile(
            filename="", mode="wb", compresslevel=COMPRESS_LEVEL, fileobj=file, mtime=0
        ) as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
    ):
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(zip(*_cells(records, staff or {}), strict=True))
    return len(records)


def _cells(records: Sequence[RecipientRecord], staff: StaffStamps) -> list[Sequence[Any]]:
    """The rows' cells column by column: a column is one kind of value, formatted in one pass.

    Model seconds to the millisecond, as in report.json; a hop never made is None, which csv
    writes empty.
    """
    columns: list[Sequence[Any]] = (
        list(zip(*records, strict=True)) if records else [() for _ in FIELDS]
    )
    cells: list[Sequence[Any]] = []
    for name, column in zip(FIELDS, columns, strict=True):
        if name in SECONDS_COLUMNS:
            cells.append(_seconds(column))
        elif name == "escalations":
            cells.append(list(map("|".join, column)))
        else:
            cells.append(column)
    # (alert, recipient) -> the staffed attempts, where there were any
    attempts = list(map(staff.get, zip(columns[0], columns[1], strict=True)))
    cells.append(["|".join(str(a[0]) for a in s) if s else "" for s in attempts])
    cells.append(["|".join(f"{a[1]:.3f}" for a in s) if s else "" for s in attempts])
    cells.append(
        ["|".join("" if a[2] is None else f"{a[2]:.3f}" for a in s) if s else "" for s in attempts]
    )
    return cells


def _seconds(column: Sequence[Any]) -> Sequence[Any]:
    """Model seconds to the millisecond; None (a hop never made) stays None, which csv writes
    empty, and a value not a float (none is) as it is.

    A column of shared stamps (the issue, the relays to a district or town) has few distinct
    values: each is formatted once and looked up, at a fifth of the cost.
    """
    if len(set(column[:SAMPLE])) * 4 <= min(len(column), SAMPLE):
        distinct = set(column)
        distinct.discard(None)
        if all(type(v) is float for v in distinct):  # an int would be merged with its float
            cells: dict[Any, Any] = {v: f"{v:.3f}" for v in distinct}
            cells[None] = None
            return list(map(cells.__getitem__, column))
    return [f"{v:.3f}" if type(v) is float else v for v in column]
