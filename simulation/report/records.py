"""records.csv.gz: one row per recipient per alert with every hop's timestamp, for audit.

After the tracker's fields and `latency_s` come the staffed attempts (a town officer's call, a
door-knock arranged): their channels, and when staff was requested and granted, one value per
attempt joined by `|` in the order they were asked for (a grant left empty: still queued when
the run ended).

Compressed with ISA-L's deflate (`isal`), at a tenth of zlib's time for 12% more bytes: after
a city run the writer is what the run waits for last (30 MB of CSV: 0.04 s against zlib's 0.4
s at level 5, 5.2 MB against 4.7). The file is a plain single-member gzip that every gzip
reader decodes; mtime 0 and no name inside, so the same records give the same bytes on one
machine (ISA-L picks its routines by the processor, so another may compress them otherwise).
"""

from __future__ import annotations

import csv
import io
import operator
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from isal import isal_zlib

from dispatcher.core.tracker import RecipientRecord

FIELDS: tuple[str, ...] = RecipientRecord._fields  # latency_s last, after the tracker's hops
STAFF_COLUMNS: tuple[str, ...] = ("staff_channels", "staff_requested_at_s", "staff_granted_at_s")
COLUMNS: tuple[str, ...] = (*FIELDS, *STAFF_COLUMNS)
StaffStamps = Mapping[tuple[str, str], Sequence[Sequence[Any]]]
TIMESTAMP_COLUMNS: tuple[str, ...] = tuple(name for name in FIELDS if name.endswith("_at_s"))
SECONDS_COLUMNS = frozenset((*TIMESTAMP_COLUMNS, "latency_s"))
BLOCK = 8192  # records formatted and compressed at a time: a few MB, not the whole file's 30
SAMPLE = 1024  # leading values a column's distinct share is judged on
COMPRESS_LEVEL = 2  # ISA-L's default (0-3): as fast as 1 and a little smaller; 3 takes 3x
GZIP_WBITS = 16 + isal_zlib.MAX_WBITS  # one gzip member, its header ISA-L's: no name, mtime 0
# a seconds column whose value is most often another's in the same row (`_text_as`): the
# acknowledged attempt's delivery is mostly the first, a dispatch mostly the acknowledgement
SAME_AS = {"ack_delivered_at_s": "delivered_at_s", "dispatched_at_s": "acknowledged_at_s"}
FLOAT_TYPES = frozenset((float, type(None)))
NO_STAFF = ("", "", "")
# the cells that may need quoting: not those of model seconds, formatted numbers
TEXT_CELLS = tuple(
    i
    for i, name in enumerate(COLUMNS)
    if name not in SECONDS_COLUMNS and name not in STAFF_COLUMNS[1:]
)


def write_records(
    records: Iterable[RecipientRecord], path: Path, staff: StaffStamps | None = None
) -> int:
    """Write the records as gzip-compressed CSV; returns the number of rows written.

    `staff` holds each recipient's staffed attempts as `[channel, requested_s, granted_s]`.
    """
    records = list(records)
    # one column at a time: zip(*records) would make an iterator per record, enough new
    # objects to set off a full pass of the garbage collector (0.4 s after a city run)
    blocks = (
        [list(map(operator.itemgetter(i), block)) for i in range(len(FIELDS))]
        for block in (records[start : start + BLOCK] for start in range(0, len(records), BLOCK))
    )
    return _write(blocks, path, staff or {})


def write_blocks(
    blocks: Iterable[list[list[Any]]], path: Path, staff: StaffStamps | None = None
) -> int:
    """`write_records` of records given a block at a time, each block column by column in
    FIELDS order (`dispatcher.core.tracker.Tracker.record_blocks`): the same bytes, without
    the records."""
    return _write(blocks, path, staff or {})


def _write(blocks: Iterable[list[list[Any]]], path: Path, staff: StaffStamps) -> int:
    """The CSV of ``blocks`` (each the columns of some rows, in FIELDS order) at ``path``."""
    rows = 0
    deflate = isal_zlib.compressobj(COMPRESS_LEVEL, isal_zlib.DEFLATED, GZIP_WBITS)
    with path.open("wb") as file:
        file.write(deflate.compress((",".join(COLUMNS) + "\n").encode("utf-8")))
        for columns in blocks:
            if len(columns) != len(FIELDS):
                raise ValueError(
                    f"expected the {len(FIELDS)} columns of FIELDS, got {len(columns)}"
                )
            rows += len(columns[0])
            file.write(deflate.compress(_csv_text(_cells(columns, staff)).encode("utf-8")))
        file.write(deflate.flush())
    return rows


def _csv_text(cells: list[list[str]]) -> str:
    """The rows of `cells` (columns of text) as csv.writer writes them.

    Joined directly, at a fifth of csv.writer's cost, when no cell needs quoting (no comma,
    quote or line break in any, as ids and channel names never have); through csv.writer else.
    """
    if not any(_needs_quoting(cells[i]) for i in TEXT_CELLS):
        lines = list(map(",".join, zip(*cells, strict=True)))
        return "\n".join(lines) + "\n" if lines else ""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(zip(*cells, strict=True))
    return out.getvalue()


def _needs_quoting(column: list[str]) -> bool:
    """Whether a cell of the column has a comma, quote or line break: looked for in the column
    joined (memchr), where counting the commas of the CSV text (as many on each line as
    columns) took 7% of the writer."""
    text = "".join(column)
    return "," in text or '"' in text or "\n" in text or "\r" in text


def _cells(columns: list[list[Any]], staff: StaffStamps) -> list[list[str]]:
    """The cells of some rows (their columns, in FIELDS order) column by column, as text: a
    column is one kind of value, formatted in one pass.

    Model seconds to the millisecond, as in report.json; empty for a hop never made.
    """
    cells: list[list[str]] = []
    texts: dict[str, list[str]] = {}
    for name, column in zip(FIELDS, columns, strict=True):
        if name in SAME_AS:
            other = SAME_AS[name]
            text = _text_as(column, columns[FIELDS.index(other)], texts[other])
        elif name in SECONDS_COLUMNS:
            text = _text(column, seconds=True)
        elif name == "escalations":
            text = list(map("|".join, column))
        else:
            text = _text(column, seconds=False)
        texts[name] = text
        cells.append(text)
    # (alert, recipient) -> the staffed attempts, where there were any
    cells.extend(_staff_columns(list(map(staff.get, zip(columns[0], columns[1], strict=True)))))
    return cells


def _text_as(column: list[Any], other: list[Any], other_text: list[str]) -> list[str]:
    """The text of a seconds column most of whose values are `other`'s in the same row: the
    text of `other` there, instead of formatting the same float again (each takes as long as
    a dozen comparisons).

    Floats only (an int is written otherwise); 0.0 is formatted anyway, -0.0 being equal to it.
    """
    if not (_floats(column) and _floats(other)):
        return _text(column, seconds=True)
    return [
        t if v == o and v else ("" if v is None else f"{v:.3f}")
        for v, o, t in zip(column, other, other_text, strict=True)
    ]


def _floats(column: list[Any]) -> bool:
    return set(map(type, column)) <= FLOAT_TYPES


def _cell(value: Any, seconds: bool) -> str:
    """One value as csv.writer would write it, model seconds (floats) to the millisecond."""
    if value is None:
        return ""
    if type(value) is float:
        return f"{value:.3f}" if seconds else repr(value)
    return value if type(value) is str else str(value)


def _text(column: list[Any], *, seconds: bool) -> list[str]:
    """A column's values as text (`_cell`).

    A column of shared values (the issue, the relays to a district or town, tiers, channels)
    has few distinct ones: each is formatted once and looked up, at a fifth of the cost.
    """
    if len(set(column[:SAMPLE])) * 4 <= min(len(column), SAMPLE):
        distinct = set(column)
        # 1 and 1.0 are one key (as 0.0 and -0.0, which no model time is): only a column of
        # one type (and None) is looked up
        if len({type(v) for v in distinct if v is not None}) <= 1:
            text = {v: _cell(v, seconds) for v in distinct}
            return list(map(text.__getitem__, column))
    if seconds:
        return ["" if v is None else (f"{v:.3f}" if type(v) is float else str(v)) for v in column]
    if set(map(type, column)) == {str}:
        return column
    return [_cell(v, seconds) for v in column]


def _staff_columns(staffed: list[Sequence[Sequence[Any]] | None]) -> list[list[str]]:
    """Each recipient's staffed attempts (None: none) as the three staff columns."""
    texts = [NO_STAFF if not s else _staff_text(s) for s in staffed]
    return [list(map(operator.itemgetter(i), texts)) for i in range(len(STAFF_COLUMNS))]


def _staff_text(staffed: Sequence[Sequence[Any]]) -> tuple[str, str, str]:
    """One recipient's staffed attempts as its three staff cells.

    Most recipients have one attempt, granted as soon as requested: its time formatted once.
    """
    if len(staffed) == 1:
        attempt = staffed[0]
        requested, granted = attempt[1], attempt[2]
        asked = f"{requested:.3f}"
        if granted == requested and granted:  # not 0.0: -0.0 is equal and written otherwise
            return str(attempt[0]), asked, asked
        return str(attempt[0]), asked, "" if granted is None else f"{granted:.3f}"
    return (
        "|".join([str(a[0]) for a in staffed]),
        "|".join([f"{a[1]:.3f}" for a in staffed]),
        "|".join(["" if a[2] is None else f"{a[2]:.3f}" for a in staffed]),
    )
