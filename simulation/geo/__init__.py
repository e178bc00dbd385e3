"""Geography: district boundaries, the city placed on them, and the optional extras they need.

`boundaries` reads a GeoJSON file of district polygons keyed by division code; `placement` puts
a generated city's towns, grid members and risk points inside them (seeded) and measures the
walking legs between them; `extras` says which optional extra to install when shapely or
xarray is missing. Everything here but `extras` needs the `geo` extra (shapely).
"""

__all__ = [
    "boundaries",
    "extras",
    "placement",
]
