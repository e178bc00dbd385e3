"""Key sets of a city's centers, and which center's key signs what a live run sends.

``init_keys`` writes the key set of ``alertsim keys init``: one Ed25519 key per center of the
scenario's city (municipal, districts, towns) and the public trust.json.

The center that issues a delivery depends on the relay strategy (as in `dispatcher.core.policy`):
``direct``: the municipal center reaches everyone; ``cascade``: a district center alerts its
duty team and a town center its team and grid members; ``hybrid``: the municipal center makes the
first attempt and the responder's own center (town, or district for its duty team) chases the
rest. Relays are signed by the center that sends them: municipal -> district, district -> town.

Private keys are read from a key set of ``alertsim keys init`` (``private/<key id>.pem``) the
first time a center signs. Every signature binds its delivery (recipient, channel, rung), so
each delivery is signed on its own: the same bytes cannot be replayed to another member or on
another rung.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from dispatcher.core.plan import Center, Recipient
from dispatcher.trust.signing import (
    Delivery,
    KeyScope,
    Signer,
    key_id_for,
    load_signer,
    write_key_set,
)
from simulation.topology.city import City

if TYPE_CHECKING:
    from simulation.scenario import LoadedScenario

__all__ = ["AlertSigners", "init_keys", "temporary_key_set", "write_city_key_set"]

_Props = tuple[tuple[str, str], ...]


class AlertSigners:
    """The signing side of a live run: issuer by strategy, cached signers and signatures."""

    def __init__(self, folder: Path, strategy: str) -> None:
        if strategy not in ("cascade", "direct", "hybrid"):
            raise ValueError(f"strategy: expected cascade, direct or hybrid, got {strategy!r}")
        self.folder = folder
        self.strategy = strategy
        self._signers: dict[str, Signer] = {}
        self.signatures = 0  # made: what signing cost the run

    def issuer(self, recipient: Recipient, rung: int) -> str:
        """The key id of the center that sends ``recipient`` its attempt at ``rung``."""
        if self.strategy == "direct" or (self.strategy == "hybrid" and rung == 0):
            return "municipal"
        if recipient.town:
            return key_id_for(KeyScope("town", recipient.town))
        return key_id_for(KeyScope("district", recipient.district))

    @staticmethod
    def relay_issuer(target: Center) -> str:
        """Key id of the center that relays to ``target`` (its parent)."""
        if target.tier == "town":
            return key_id_for(KeyScope("district", target.code[:6]))
        return "municipal"

    def properties(self, key_id: str, payload: bytes, delivery: Delivery) -> _Props:
        """The signature user properties of ``payload`` for ``delivery``, by ``key_id``."""
        signer = self._signers.get(key_id)
        if signer is None:
            signer = self._signers[key_id] = load_signer(self.folder, key_id)
        self.signatures += 1
        return signer.properties(payload, delivery)


def write_city_key_set(city: City, folder: Path, *, valid_days: int = 365) -> dict[str, int]:
    """One key per center of ``city`` in ``folder``; returns how many of each tier."""
    districts = {d.code: [t.code for t in d.towns] for d in city.districts}
    return write_key_set(folder, districts, valid_days=valid_days)


def init_keys(loaded: LoadedScenario, out: Path, *, valid_days: int = 365) -> dict[str, int]:
    """One key per center of the scenario's city, written to ``out``."""
    from simulation.experiment.virtual import build_city

    return write_city_key_set(build_city(loaded), out, valid_days=valid_days)


def temporary_key_set(city: City) -> tempfile.TemporaryDirectory[str]:
    """A key set for ``city`` in a temporary folder (removed with the returned object)."""
    folder = tempfile.TemporaryDirectory(prefix="alertsim-keys-")
    write_city_key_set(city, Path(folder.name))
    return folder
