"""The terminal summary of a run: verdict, headline figures, worst districts, escalations."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from simulation.report.verdict import MET, MISSED, floor_pct


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _pct(share: float) -> str:
    return floor_pct(share)  # never rounded up to a target


def _lifecycle_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """Messages by type, those carried on into an Update, and the episodes' latency."""
    if "messages" not in report:
        return []
    kinds = Counter(m["msg_type"] for m in report["messages"])
    listed = ", ".join(f"{n:,} {kind}" for kind, n in sorted(kinds.items()))
    rows = [("messages", listed or "none")]
    if report["notification"].get("superseded"):
        rows.append(("carried on into an Update", f"{report['notification']['superseded']:,}"))
    latency = report["episode_latency_s"]
    rows.append(
        (
            f"episode latency p50 / max (s), {len(report['episodes']):,} episode(s)",
            f"{_s(latency['p50'])} / {_s(latency['max'])}",
        )
    )
    return rows


def print_summary(report: dict[str, Any], console: Console) -> None:
    note, resp = report["notification"], report["response"]
    targets = report["targets"]
    for sentence in report["verdict"]:
        word = sentence.partition(":")[0]
        style = {MET: "bold green", MISSED: "bold red"}.get(word, "bold yellow")
        console.print(sentence, style=style)
    for sentence in report.get("why", []):
        console.print(sentence)

    title = f"{report['scenario']} - {report['strategy']}, seed {report['seed']}"
    if "replications" in report:
        n = report["replications"]["notification.within_target_share"]["n"]
        title += f", replication 0 of {n} (intervals below)"
    head = Table(title=title)
    head.add_column("figure")
    head.add_column("value", justify="right")
    flagged = ", ".join(f"{k} {v:,}" for k, v in note["flagged"].items() if v) or "none"
    rows = [
        ("responders targeted", f"{note['targeted']:,}"),
        ("acknowledged", f"{note['acknowledged']:,}"),
        ("flagged", flagged),
        (
            f"acknowledged within {targets['notify_target_s']:g} s",
            _pct(note["within_target_share"]),
        ),
    ]
    rows += [(f"latency {k} (s)", _s(v)) for k, v in note["latency_s"].items()]
    rows += [(f"time to {float(k):.0%} (s)", _s(v)) for k, v in note["time_to_share_s"].items()]
    rows += _lifecycle_rows(report)
    rows += [
        ("risk points", f"{resp['risk_points']:,}"),
        (f"reached within {targets['respond_target_s']:g} s", _pct(resp["within_target_share"])),
        (
            "response p50 / p95 (s)",
            f"{_s(resp['latency_s']['p50'])} / {_s(resp['latency_s']['p95'])}",
        ),
        ("model events / wall time", f"{report['sim_events']:,} / {report['wall_s']:.1f} s"),
    ]
    for name, value in rows:
        head.add_row(name, value)
    console.print(head)

    worst = sorted(report["by_district"], key=lambda d: (d["within_target_share"], d["code"]))[:5]
    one = " in replication 0" if "ranking" in report else ""
    table = Table(title=f"Five worst districts{one} (share acknowledged within target)")
    for column in (
        "district",
        "targeted",
        "within target",
        "p95 (s)",
        "flagged",
        "response in time",
    ):
        table.add_column(column, justify="left" if column == "district" else "right")
    for d in worst:
        table.add_row(
            f"{d['code']} {d['name']}",
            f"{d['targeted']:,}",
            _pct(d["within_target_share"]),
            _s(d["latency_s"]["p95"]),
            f"{d['flagged']:,}",
            _pct(d["response_within_target_share"]),
        )
    console.print(table)

    if report["escalations"]:
        esc = Table(title="Escalations by channel")
        esc.add_column("channel")
        esc.add_column("attempts", justify="right")
        for channel, count in report["escalations"].items():
            esc.add_row(channel, f"{count:,}")
        console.print(esc)
