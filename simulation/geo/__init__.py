"""Geography: district boundaries, the city placed on them, alert areas, outlines for maps.

`boundaries` reads a GeoJSON file of district polygons keyed by division code; `placement` puts
a generated city's towns, grid members and risk points inside them (seeded) and measures the
walking legs between them; `areas` selects the towns an alert area (polygons, circles,
geocodes) covers; `shapes` projects the boundaries to SVG path data for report maps.
Everything here but `shapes` needs the `geo` extra (shapely); `simulation.extras` says which
extra to install when it is missing.
"""

__all__ = [
    "areas",
    "boundaries",
    "placement",
    "shapes",
]
