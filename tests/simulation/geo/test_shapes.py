"""District outlines for maps: projected once, borders shared exactly, drawn without shapely."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulation.geo.shapes import ShapesError, load_shapes, map_shapes, shipped_boundaries
from tests.support.scenarios import ROOT

YUZHONG, JIANGBEI = "500103", "500105"


def _vertices(d: str) -> set[str]:
    return set(re.findall(r"-?[\d.]+,-?[\d.]+", d))


def test_the_shipped_outlines_keep_their_proportions() -> None:
    shapes = load_shapes()
    assert shipped_boundaries() == ROOT / "config/geo/chongqing-districts.geojson"
    assert len(shapes.paths) == 38
    assert shapes.names[YUZHONG] == "Yuzhong"
    data = json.loads(shipped_boundaries().read_text(encoding="utf-8"))
    points = [
        p
        for f in data["features"]
        for poly in (
            f["geometry"]["coordinates"]
            if f["geometry"]["type"] == "MultiPolygon"
            else [f["geometry"]["coordinates"]]
        )
        for ring in poly
        for p in ring
    ]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    squash = math.cos(math.radians((min(lats) + max(lats)) / 2))
    ratio = (max(lats) - min(lats)) / ((max(lons) - min(lons)) * squash)
    assert (shapes.height - 8) / (shapes.width - 8) == pytest.approx(ratio, rel=1e-3)
    for d in shapes.paths.values():
        for x, y in (map(float, v.split(",")) for v in _vertices(d)):
            assert 0 <= x <= shapes.width
            assert 0 <= y <= shapes.height


def test_neighbours_share_their_border_vertices_exactly() -> None:
    paths = load_shapes().paths
    shared = _vertices(paths[YUZHONG]) & _vertices(paths[JIANGBEI])
    assert len(shared) >= 5  # the Jialing river between them
    assert sum(len(_vertices(d)) for d in paths.values()) < 8_240  # rounding dropped repeats


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "expected GeoJSON"),
        ('{"type": "Feature"}', "expected a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": []}', "at least one district"),
        (
            '{"type": "FeatureCollection", "features": [{"properties": {"code": "500101"}, '
            '"geometry": {"type": "Point", "coordinates": [1, 2]}}]}',
            r"features\[0\] \(500101\): expected Polygon or MultiPolygon coordinates",
        ),
    ],
)
def test_a_file_that_cannot_be_drawn_is_a_one_line_error(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(ShapesError, match=message) as info:
        load_shapes(path)
    assert "\n" not in str(info.value)
    assert map_shapes(path) is None  # a finished run's page then says it has no maps


def test_maps_are_drawn_without_shapely(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['shapely'] = None\n"
        "from simulation.geo.shapes import load_shapes\n"
        "from simulation.report.maps import Cell, district_map, outlines, share_scale\n"
        "shapes = load_shapes()\n"
        "cells = {'500103': Cell(0.97, 'Yuzhong: 97%')}\n"
        "page = outlines(shapes) + district_map('m', 'a map', shapes, cells, share_scale())\n"
        "print(page.count('<use '), page.count('<path '))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["38", "38"]
