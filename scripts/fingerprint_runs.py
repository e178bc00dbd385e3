"""Fingerprint virtual runs: sha256 of report.json (less its volatile keys) and of the CSV in
records.csv.gz (its content: the compressed bytes depend on the processor, `report.records`).

A refactor that must not change behaviour runs this before and after and compares the output:

    .venv/bin/python scripts/fingerprint_runs.py > before.txt
    ... change ...
    .venv/bin/python scripts/fingerprint_runs.py --check before.txt

Every shipped scenario runs with two seeds through the `alertsim run` command, as a user would,
with `--replications 1`: replication 0 is the unit a seed fixes (records.csv.gz is its records
in any case), and the default 3 would triple the time for a replications block whose
aggregation the tests already hold (tests/simulation/experiment/test_replications.py).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (20250720, 7)
VOLATILE_KEYS = ("started_at", "wall_s", "host", "versions")


def fingerprint(scenario: Path, seed: int, out: Path) -> str:
    # The code of the tree this script lives in (cwd first on sys.path), whichever venv runs it,
    # and the scenario by its path relative to the tree, as report.json records it.
    argv = ["alertsim", "run", str(scenario.resolve().relative_to(ROOT)), "--seed", str(seed)]
    argv += ["--replications", "1", "--out", str(out), "--quiet"]
    code = f"import sys; sys.argv = {argv!r}; from simulation.cli import main; main()"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for key in VOLATILE_KEYS:
        report.pop(key, None)
    report_sha = hashlib.sha256(json.dumps(report, sort_keys=True).encode()).hexdigest()[:16]
    records_csv = gzip.decompress((out / "records.csv.gz").read_bytes())
    records_sha = hashlib.sha256(records_csv).hexdigest()[:16]
    return f"{scenario.name} seed={seed} report={report_sha} records={records_sha}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", type=Path, help="compare against an earlier output")
    parser.add_argument("scenarios", nargs="*", type=Path)
    args = parser.parse_args()
    scenarios = args.scenarios or sorted((ROOT / "scenarios").glob("*.yaml"))
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in scenarios:
            for seed in SEEDS:
                line = fingerprint(scenario, seed, Path(tmp) / f"{scenario.stem}-{seed}")
                print(line, flush=True)
                lines.append(line)
    if args.check is None:
        return 0
    expected = args.check.read_text(encoding="utf-8").split("\n")
    differ = [line for line in lines if line not in expected]
    for line in differ:
        print(f"differs: {line}", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
