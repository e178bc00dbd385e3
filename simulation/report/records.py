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
import operator
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dispatcher.core.tracker import RecipientRecord

FIELDS: tuple[str, ...] = RecipientRecord._fields
STAFF_COLUMNS: tuple[str, ...] = ("staff_channels", "staff_requested_at_s", "staff_granted_at_s")
COLUMNS: tuple[str, ...] = (*FIELDS, "latency_s", *STAFF_COLUMNS)
StaffStamps = Mapping[tuple[str, str], Sequence[Sequence[Any]]]
TIMESTAMP_COLUMNS: tuple[str, ...] = tuple(name for name in FIELDS if name.endswith("_at_s"))
COMPRESS_LEVEL = 5  # about as small as 9 on this data, at a third of the time


def write_records(
    records: Iterable[RecipientRecord], path: Path, staff: StaffStamps | None = None
) -> int:
    """Write the records as gzip-compressed CSV; returns the number of rows written.

    `staff` holds each recipient's staffed attempts as `[channel, requested_s, granted_s]`.
    """
    staff = staff or {}
    fields_of = operator.attrgetter(*FIELDS)
    escalations_at = FIELDS.index("escalations")
    rows = 0
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
        for record in records:
            # Model seconds to the millisecond, as in report.json; empty for a hop never made.
            row = [
                "" if v is None else (f"{v:.3f}" if type(v) is float else v)
                for v in fields_of(record)
            ]
            row[escalations_at] = "|".join(record.escalations)
            latency = record.latency_s
            row.append("" if latency is None else f"{latency:.3f}")
            row.extend(_staff_cells(staff.get((record.alert_id, record.recipient_id), ())))
            writer.writerow(row)
            rows += 1
    return rows


def _staff_cells(attempts: Sequence[Sequence[Any]]) -> list[str]:
    if not attempts:
        return ["", "", ""]
    return [
        "|".join(str(a[0]) for a in attempts),
        "|".join(f"{a[1]:.3f}" for a in attempts),
        "|".join("" if a[2] is None else f"{a[2]:.3f}" for a in attempts),
    ]
