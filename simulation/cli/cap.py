"""`alertsim cap validate` and `alertsim cap show`: check and read CAP 1.2 XML alerts."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from simulation.cli.common import EXIT_INVALID, console, errors

if TYPE_CHECKING:
    from dispatcher.wire.messages import Alert, Area
    from simulation.scenario import LoadedScenario

__all__ = ["cap_app", "read_cap_file", "summary_lines", "with_replay"]

cap_app = typer.Typer(help="CAP 1.2 XML alerts (see docs/cap.md).", no_args_is_help=True)


def read_cap_file(path: Path) -> "tuple[Alert | None, list[str]]":
    """The alert in ``path``, or None and every problem (each prefixed with the file)."""
    from dispatcher.wire.capxml import CapError, decode_cap

    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [f"{path}: expected a readable file, got {exc.strerror or exc}"]
    try:
        return decode_cap(data), []
    except CapError as exc:
        return None, [f"{path}: {problem}" for problem in exc.problems]


@cap_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="CAP 1.2 XML files")],
) -> None:
    """Check CAP files against the OASIS schema and alertsim's rules; exit 2 with every problem."""
    problems: list[str] = []
    for path in files:
        alert, found = read_cap_file(path)
        problems += found
        if alert is not None:
            languages = ", ".join(info.language for info in alert.infos)
            console.print(
                f"{path}: valid CAP 1.2 ({alert.msg_type} {alert.identifier}; {languages})",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    for line in problems:
        errors.print(line, markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(EXIT_INVALID)


@cap_app.command("show")
def show(file: Annotated[Path, typer.Argument(help="a CAP 1.2 XML file")]) -> None:
    """Print a readable summary of a CAP alert: message, each info block and its areas."""
    alert, problems = read_cap_file(file)
    for line in problems:
        errors.print(line, markup=False, highlight=False, soft_wrap=True)
    if alert is None:
        raise typer.Exit(EXIT_INVALID)
    for line in summary_lines(alert):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _area_lines(area: "Area") -> list[str]:
    lines = [f"    area: {area.area_desc}"]
    if area.towns:
        lines.append(f"      towns: {', '.join(area.towns)}")
    elif area.districts:
        lines.append(f"      districts (whole): {', '.join(area.districts)}")
    if area.polygons or area.circles:
        lines.append(
            f"      shapes: {len(area.polygons)} polygon(s), {len(area.circles)} circle(s)"
        )
    if area.geocodes:
        codes = ", ".join(f"{g.value_name} {g.value}" for g in area.geocodes)
        lines.append(f"      other geocodes: {codes}")
    return lines


def summary_lines(alert: "Alert") -> list[str]:
    """A readable summary, one line per fact."""
    lines = [
        f"{alert.msg_type} {alert.identifier} from {alert.sender}, sent {alert.sent.isoformat()}",
        f"  status {alert.status}, scope {alert.scope}",
    ]
    lines += [
        f"  references {r.identifier} ({r.sender}, {r.sent.isoformat()})" for r in alert.references
    ]
    for number, info in enumerate(alert.infos, 1):
        level = f", level {info.warning_level}" if info.warning_level else ""
        expires = info.expires.isoformat() if info.expires else "never"
        lines += [
            f"  info {number} [{info.language}] {info.event}: {info.urgency}, {info.severity}, "
            f"{info.certainty}{level}; expires {expires}",
            f"    headline: {info.headline}",
        ]
        if info.instruction:
            lines.append(f"    instruction: {info.instruction}")
        for area in info.areas:
            lines += _area_lines(area)
    return lines


def with_replay(loaded: "LoadedScenario", files: list[Path]) -> "LoadedScenario":
    """The scenario replaying the CAP messages of ``files``; exit 2 listing every problem."""
    from simulation.capreplay import ReplayError, replay_warnings
    from simulation.experiment.virtual import build_city

    alerts: list[Alert] = []
    problems: list[str] = []
    for path in files:
        alert, found = read_cap_file(path)
        problems += found
        if alert is not None:
            alerts.append(alert)
    if not problems:
        try:
            replay_warnings(alerts, build_city(loaded))
        except ReplayError as exc:
            problems += [f"--cap: {problem}" for problem in exc.problems]
    for line in problems:
        errors.print(line, markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(EXIT_INVALID)
    ordered = tuple(sorted(alerts, key=lambda alert: alert.sent))
    return loaded.model_copy(update={"cap_alerts": ordered})
