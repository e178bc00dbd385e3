"""Rainfall from data a planner has: station observations or a grid, as a series per district.

`stations` reads hourly CMA station observations (CSV) and `assign` gives each district a
weighted set of stations (nearest, or inverse distance within the district); `gridded` averages
a NetCDF precipitation grid over each district. `readings` holds what both share: the checks
of one value and the counted repairs; `resolve` turns a scenario's `hazard.rainfall_source` into
the `rainfall_mm` the hazard model reads. Stations need the `geo` extra, grids `netcdf`.
"""

__all__ = [
    "assign",
    "gridded",
    "readings",
    "resolve",
    "stations",
]
