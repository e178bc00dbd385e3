"""Optional extras: check one is installed, or say which to install, before its code is imported.

The geometry needs shapely (`pip install 'alertsim[geo]'`), gridded rainfall xarray and a NetCDF
engine (`pip install 'alertsim[netcdf]'`), a Dask executor distributed (`pip install
'alertsim[dask]'`), Prometheus metrics prometheus-client (`pip install
'alertsim[metrics]'`), `alertsim calibrate` scipy (`pip install
'alertsim[calibrate]'`), `alertsim optimize` optuna (`pip install 'alertsim[optimize]'`), and
Morris screening (`alertsim sensitivity --morris`) SALib (`pip install 'alertsim[sensitivity]'`).
Callers check before they import the modules that need them, so a missing extra is one line
naming the feature and the extra, never a traceback.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Final, Literal

from dispatcher.errors import AlertsimError

__all__ = ["EXTRAS", "Extra", "MissingExtra", "require"]

Extra = Literal["calibrate", "dask", "geo", "metrics", "netcdf", "optimize", "sensitivity"]
# extra -> the importable modules it brings
EXTRAS: Final[dict[Extra, tuple[str, ...]]] = {
    "dask": ("distributed",),
    "geo": ("shapely",),
    "netcdf": ("shapely", "xarray", "netCDF4"),
    "calibrate": ("scipy", "numpy"),
    "metrics": ("prometheus_client",),
    "optimize": ("optuna",),
    "sensitivity": ("SALib", "numpy"),
}


class MissingExtra(AlertsimError, ImportError):
    """A feature needs an optional extra that is not installed; the message says which."""


def require(extra: Extra, feature: str) -> None:
    """Raise MissingExtra naming `feature` and the pip command unless `extra` is installed."""
    missing = [name for name in EXTRAS[extra] if find_spec(name) is None]
    if missing:
        raise MissingExtra(
            f"{feature}: expected the {extra!r} extra installed "
            f"(pip install 'alertsim[{extra}]'), got no {', '.join(missing)}"
        )
