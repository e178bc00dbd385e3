"""alertsim cap validate and cap show, through the CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from simulation.cli import app

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "config" / "cap" / "examples"
ALERT = EXAMPLES / "cq-wanzhou-rainstorm-alert.xml"
UPDATE = EXAMPLES / "cq-wanzhou-rainstorm-update.xml"


def test_validate_accepts_the_samples() -> None:
    result = CliRunner().invoke(app, ["cap", "validate", str(ALERT), str(UPDATE)])
    assert result.exit_code == 0, result.output
    assert f"{UPDATE}: valid CAP 1.2 (Update cq-500101-20250720-rainstorm-2; zh-CN, en-US)" in (
        result.output
    )


def test_validate_exits_2_with_one_line_per_problem_of_every_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(ALERT.read_bytes().replace(b"500101002000", b"5001010020", 1))
    drill = tmp_path / "drill.xml"
    drill.write_bytes(
        ALERT.read_bytes()
        .replace(b"<status>Exercise", b"<status>Drill")
        .replace(b"<scope>Public", b"<scope>Everyone")
    )
    missing = tmp_path / "missing.xml"
    result = CliRunner().invoke(
        app, ["cap", "validate", str(bad), str(drill), str(missing), str(ALERT)]
    )
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines == [
        f"{bad}: alert/info[1]/area[1]/geocode[2]/value: expected a 6-, 9- or 12-digit division "
        "code, got '5001010020'",
        f"{drill}: alert/status (line 8): [facet 'enumeration'] The value 'Drill' is not an "
        "element of the set {'Actual', 'Exercise', 'System', 'Test', 'Draft'}.",
        f"{drill}: alert/scope (line 10): [facet 'enumeration'] The value 'Everyone' is not an "
        "element of the set {'Public', 'Restricted', 'Private'}.",
        f"{missing}: expected a readable file, got No such file or directory",
    ]
    assert f"{ALERT}: valid CAP 1.2" in result.stdout


def test_show_summarises_message_info_blocks_and_areas() -> None:
    result = CliRunner().invoke(app, ["cap", "show", str(UPDATE)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Update cq-500101-20250720-rainstorm-2 from cq-municipal, sent 2025-07-20T00:40:00+00:00"
    )
    assert (
        "  references cq-500101-20250720-rainstorm-1 (cq-municipal, 2025-07-20T00:00:00+00:00)"
        in lines
    )
    assert (
        "  info 2 [en-US] Rainstorm: Immediate, Extreme, Likely, level red; "
        "expires 2025-07-20T06:00:00+00:00" in lines
    )
    assert lines.count("      towns: 500101001, 500101002, 500101003") == 2


def test_show_of_a_bad_file_exits_2_naming_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "x.xml"
    bad.write_bytes(b'<!DOCTYPE alert><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>')
    result = CliRunner().invoke(app, ["cap", "show", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{bad}: document: expected XML without a DOCTYPE")
