"""Reports of a run: report.json, the terminal summary, report.html, records.csv.gz, comparisons."""

__all__ = [
    "build",
    "compare",
    "faults",
    "headline",
    "html",
    "html_parts",
    "html_queues",
    "html_ranking",
    "html_tables",
    "intervals",
    "queues",
    "records",
    "style",
    "svg",
    "sweep",
    "terminal",
    "verdict",
]
