"""Reports of a run: report.json, the terminal summary, report.html, records.csv.gz, comparisons."""

__all__ = [
    "build",
    "compare",
    "faults",
    "headline",
    "html",
    "html_parts",
    "html_provenance",
    "html_queues",
    "html_tables",
    "intervals",
    "provenance",
    "queues",
    "records",
    "style",
    "svg",
    "sweep",
    "terminal",
]
