"""records.csv.gz: one row per recipient per alert, every hop's timestamp, same bytes each time."""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path

import pytest

from simulation.experiment.virtual import run_virtual
from simulation.report.build import RunResult
from simulation.report.records import COLUMNS, write_records
from tests.support.scenarios import load

HOPS = (
    "issued_at_s",
    "relayed_municipal_at_s",
    "relayed_district_at_s",
    "relayed_town_at_s",
    "notified_at_s",
    "sent_at_s",
    "delivered_at_s",
    "ack_delivered_at_s",
    "read_at_s",
    "acked_at_s",
    "acknowledged_at_s",
    "dispatched_at_s",
    "on_scene_at_s",
    "flagged_at_s",
)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    # SMS fails for some, so the ladder climbs and a few rows have empty hops
    return run_virtual(
        load(
            tmp_path_factory.mktemp("records"),
            channels={"app_push": {"failure": 0.5}, "sms": {"failure": 0.5}},
        )
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rb") as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))


def test_one_row_per_recipient_with_every_hop(result: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "records.csv.gz"
    assert write_records(result.records, path) == len(result.records)
    rows = read_rows(path)
    assert len(rows) == len(result.records) == sum(a["recipients"] for a in result.alerts)
    assert set(HOPS) <= set(rows[0])
    assert tuple(rows[0]) == COLUMNS
    assert len({(r["alert_id"], r["recipient_id"]) for r in rows}) == len(rows)
    for row, record in zip(rows, result.records, strict=True):
        assert row["recipient_id"] == record.recipient_id
        for hop in HOPS:
            value = getattr(record, hop)
            assert row[hop] == ("" if value is None else f"{value:.3f}"), hop
        assert row["escalations"] == "|".join(record.escalations)
    assert any(r["escalations"] for r in rows)


def test_the_same_records_give_the_same_bytes(result: RunResult, tmp_path: Path) -> None:
    write_records(result.records, tmp_path / "a.csv.gz")
    write_records(result.records, tmp_path / "b.csv.gz")
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()


def test_the_file_is_one_gzip_member_without_a_name_or_time(
    result: RunResult, tmp_path: Path
) -> None:
    path = tmp_path / "records.csv.gz"
    write_records(result.records, path)
    data = path.read_bytes()
    assert data[:3] == b"\x1f\x8b\x08"  # gzip, deflate
    assert data[3] == 0  # no flags: no name, comment or extra field
    assert data[4:8] == b"\0\0\0\0"  # mtime 0
    member = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert member.decompress(data).startswith(",".join(COLUMNS).encode())
    assert member.eof  # one member
    assert member.unused_data == b""  # and nothing after it


def test_a_cell_that_needs_quoting_is_written_as_csv_writes_it(
    result: RunResult, tmp_path: Path
) -> None:
    odd = result.records[0]._replace(recipient_id='grid "7", west', town="a\nb")
    records = [odd, *result.records[1:3]]
    path = tmp_path / "records.csv.gz"
    write_records(records, path)
    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow(
            [
                *(
                    f"{v:.3f}" if type(v) is float else "|".join(v) if type(v) is tuple else v
                    for v in record
                ),
                "",
                "",
                "",
            ]
        )
    assert gzip.decompress(path.read_bytes()).decode("utf-8") == expected.getvalue()
    assert read_rows(path)[0]["recipient_id"] == 'grid "7", west'


def test_a_stamp_that_is_not_a_float_is_written_as_it_is(result: RunResult, tmp_path: Path) -> None:
    first = result.records[0]
    records = [first._replace(issued_at_s=7200), *result.records[1:3]]
    path = tmp_path / "records.csv.gz"
    write_records(records, path)
    rows = read_rows(path)
    assert rows[0]["issued_at_s"] == "7200"  # as csv.writer writes an int
    assert rows[1]["issued_at_s"] == f"{records[1].issued_at_s:.3f}"


def test_staffed_attempts_get_their_requested_and_granted_times(
    result: RunResult, tmp_path: Path
) -> None:
    first, second = result.records[0], result.records[1]
    staff = {
        (first.alert_id, first.recipient_id): [
            ["voice_call", 10.0, 12.5],
            ["door_knock", 300.0, None],
        ],
        (second.alert_id, second.recipient_id): [["voice_call", 20.25, 20.25]],
    }
    path = tmp_path / "records.csv.gz"
    write_records(result.records, path, staff)
    rows = read_rows(path)
    assert tuple(rows[0])[-3:] == ("staff_channels", "staff_requested_at_s", "staff_granted_at_s")
    assert rows[0]["staff_channels"] == "voice_call|door_knock"
    assert rows[0]["staff_requested_at_s"] == "10.000|300.000"
    assert rows[0]["staff_granted_at_s"] == "12.500|"  # the door-knock was still queued
    assert rows[1]["staff_granted_at_s"] == rows[1]["staff_requested_at_s"] == "20.250"
    assert all(r["staff_channels"] == "" for r in rows[2:])


def test_a_run_stamps_its_staffed_attempts(tmp_path_factory: pytest.TempPathFactory) -> None:
    phoned = run_virtual(
        load(
            tmp_path_factory.mktemp("phoned"),
            channels={"app_push": {"failure": 1.0}, "sms": {"failure": 1.0}},
            escalation={"timeout_s": [30, 30, 3000, 600]},
        )
    )
    path = tmp_path_factory.mktemp("out") / "records.csv.gz"
    write_records(phoned.records, path, phoned.staff_stamps)
    rows = read_rows(path)
    assert rows
    for row in rows:
        assert row["staff_channels"] == "voice_call"
        assert float(row["staff_granted_at_s"]) >= float(row["staff_requested_at_s"])
        assert float(row["staff_requested_at_s"]) == pytest.approx(float(row["sent_at_s"]))
