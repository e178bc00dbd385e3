"""The staff-queue section of report.html: per center tier, and the busiest centers of each."""

from __future__ import annotations

from html import escape
from typing import Any

from simulation.report.html_parts import figure, section, table


def queues(report: dict[str, Any]) -> str:
    """Mean wait, P(wait > 0) and utilisation per tier; "" for a report from before queues."""
    block = report.get("queues")
    if not block or not block["by_tier"]:
        return ""
    tiers, busiest = [], []
    for i, tier in enumerate(block["by_tier"]):
        key = f"queues.by_tier.{i}"
        tiers.append(
            [
                escape(tier["tier"]),
                figure(report, f"{key}.centers", "count"),
                figure(report, f"{key}.staff", "count"),
                figure(report, f"{key}.utilisation", "share"),
                figure(report, f"{key}.alert.mean_wait_s", "seconds"),
                figure(report, f"{key}.alert.p_wait", "share"),
                figure(report, f"{key}.background.granted", "count"),
                figure(report, f"{key}.background.mean_wait_s", "seconds"),
            ]
        )
        for j, center in enumerate(tier["busiest"]):
            row = f"{key}.busiest.{j}"
            busiest.append(
                [
                    escape(tier["tier"]),
                    figure(report, f"{row}.code", "count", center["code"]),
                    figure(report, f"{row}.staff", "count"),
                    figure(report, f"{row}.utilisation", "share"),
                    figure(report, f"{row}.mean_wait_s", "seconds"),
                    figure(report, f"{row}.p_wait", "share"),
                    figure(report, f"{row}.alert.mean_wait_s", "seconds"),
                    figure(report, f"{row}.background.granted", "count"),
                ]
            )
    note = (
        '<p class="note">Every hold of a staff member: processing the alert, relay calls, phone '
        "calls and door-knocks (alert work), and citizens' calls and incident reports "
        "(background work), first come first served. Utilisation is seconds held over staff x "
        f"{block['window_s']:,.0f} model seconds: from an hour before the first alert, when "
        "background work starts, to the end of the run.</p>"
    )
    return section(
        "queues",
        "Staff queues at the centers",
        note,
        table(
            [
                "tier",
                "centers",
                "staff",
                "utilisation",
                "alert: mean wait",
                "alert: P(wait)",
                "background",
                "background: mean wait",
            ],
            tiers,
        ),
        "<h3>Busiest centers of each tier</h3>",
        table(
            [
                "tier",
                "center",
                "staff",
                "utilisation",
                "mean wait",
                "P(wait)",
                "alert: mean wait",
                "background",
            ],
            busiest,
            numeric_from=2,
        ),
    )
