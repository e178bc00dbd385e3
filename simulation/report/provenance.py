"""report.json's `provenance`: every parameter of the run with its value and where it comes from.

One row per provenance entry of the scenario (placed where its first parameter is), and one per
parameter no entry covers (`kind: none`), in the scenario's order. A row whose value the run
changed (`--seed`, `--set`, a sweep) also carries the file's value (`file_value`), since the
source or assumption speaks of that one. Only the sources the rows cite are listed.
"""

from __future__ import annotations

from typing import Any

from simulation.scenario import LoadedScenario
from simulation.scenario.provenance import lookup


def provenance(loaded: LoadedScenario) -> dict[str, Any]:
    """The `provenance` section of report.json for the run of ``loaded``."""
    spec = loaded.provenance
    run = loaded.scenario.model_dump(mode="json")
    rows: list[dict[str, Any]] = []
    placed: set[str] = set()
    for path in spec.parameters:
        key = spec.covering(path)
        if key is None:
            rows.append(_row(path, None, run, spec.file_values))
        elif key not in placed:
            placed.add(key)
            rows.append(_row(key, spec.entries[key], run, spec.file_values))
    for key, entry in spec.entries.items():  # entries on paths that hold no number
        if key not in placed:
            rows.append(_row(key, entry, run, spec.file_values))
    cited = sorted({r["source"] for r in rows if r["source"] is not None})
    return {
        "sources_file": spec.sources_file,
        "counts": {
            "parameters": len(spec.parameters),
            "source": sum(r["kind"] == "source" for r in rows),
            "assumption": sum(r["kind"] == "assumption" for r in rows),
            "none": sum(r["kind"] == "none" for r in rows),
        },
        "parameters": rows,
        "sources": {i: spec.sources[i].model_dump(mode="json", exclude={"id"}) for i in cited},
    }


def _row(path: str, entry: Any, run: Any, file_values: dict[str, Any]) -> dict[str, Any]:
    found, value = lookup(run, path)
    file_value = file_values.get(path)
    if not found:  # e.g. a rainfall_source the loader turned into series
        value = file_value
    row: dict[str, Any] = {
        "path": path,
        "group": path.split(".", 1)[0].split("[", 1)[0],
        "value": value,
        "kind": "none" if entry is None else entry.kind,
        "source": None if entry is None else entry.source,
        "assumption": None if entry is None else entry.assumption,
        "note": "" if entry is None else entry.note,
    }
    if path in file_values and file_value != value:
        row["file_value"] = file_value
    return row
