"""Reports of a run: report.json, the terminal summary, and (later) HTML, CSV and comparisons."""
