"""Reports of a run: report.json, the terminal summary, report.html, records.csv.gz, comparisons."""
