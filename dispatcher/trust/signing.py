"""Alert signatures: Ed25519 keys bound to a scope, and the verifier every receiver runs.

Who may alert whom: the municipal key may sign an alert for any area; a district key only alerts
whose area is its own district (any of its towns); a town key only alerts for its own town (its
grids), never district- or city-wide. A key is also bound to the statuses it may sign: keys made
for exercises (the default of ``alertsim keys init``) sign only ``Exercise`` and ``Test`` alerts.

On the wire the alert payload stays plain CAP JSON; the signature travels with it as two MQTT 5
user properties, ``sig_key`` (the key id) and ``sig`` (base64 of the Ed25519 signature over
``b"alertsim/v1/alert\\0" + key_id + b"\\0" + delivery + b"\\0" + payload``, where ``delivery`` is
the JSON array ``[receiver, channel, rung]`` of :class:`Delivery`), so a receiver verifies the
exact bytes it got, for the recipient of the topic it got them on, over the channel and on the
rung they claim: a signature cannot be moved to another key's name, another member or another
rung.

:class:`Verifier` answers every message with a :class:`Verdict` and never raises: ``accepted``,
``duplicate`` (an identifier it already accepted: counted, not shown again) or one reason of
:data:`REJECT_REASONS`, which the receiver counts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, Literal, get_args

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from dispatcher.errors import AlertsimError
from dispatcher.wire import properties as prop
from dispatcher.wire.capxml import decode_payload
from dispatcher.wire.messages import Alert, MessageError, Status

__all__ = [
    "REJECT_REASONS",
    "RELAY_CHANNEL",
    "SIG_KEY_PROPERTY",
    "SIG_PROPERTY",
    "Delivery",
    "KeyRecord",
    "KeyScope",
    "Keyring",
    "RejectReason",
    "Signer",
    "SigningError",
    "Verdict",
    "Verifier",
    "key_id_for",
    "load_keyring",
    "load_signer",
    "relay_delivery",
    "scope_covers",
    "write_key_set",
]

SIG_KEY_PROPERTY: Final = prop.SIG_KEY
SIG_PROPERTY: Final = prop.SIG
_DOMAIN: Final = b"alertsim/v1/alert\x00"
TRUST_FILE: Final = "trust.json"

ScopeKind = Literal["municipal", "district", "town"]
RejectReason = Literal[
    "unsigned",
    "unknown_key",
    "bad_signature",
    "out_of_scope",
    "not_for_me",
    "expired",
    "replayed",
    "status_mismatch",
    "payload",
    "topic",
]
REJECT_REASONS: Final[tuple[RejectReason, ...]] = get_args(RejectReason)
EXERCISE_STATUSES: Final = (Status.EXERCISE, Status.TEST)
_DIGITS: Final = {6: re.compile(r"[0-9]{6}"), 9: re.compile(r"[0-9]{9}")}


class SigningError(AlertsimError, ValueError):
    """A key file or trust file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class KeyScope:
    """What a key may alert: ``municipal`` (code ''), a 6-digit district or a 9-digit town."""

    kind: ScopeKind
    code: str = ""

    def __post_init__(self) -> None:
        digits = {"municipal": 0, "district": 6, "town": 9}.get(self.kind)
        if digits is None:
            raise SigningError(
                f"key scope: expected municipal, district or town, got {self.kind!r}"
            )
        ok = self.code == "" if digits == 0 else _DIGITS[digits].fullmatch(self.code) is not None
        if not ok:
            raise SigningError(
                f"key scope {self.kind}: expected {digits} ASCII digits, got {self.code!r}"
            )


def key_id_for(scope: KeyScope) -> str:
    """The id of a center's key: ``municipal``, ``district-500101``, ``town-500101001``."""
    return "municipal" if scope.kind == "municipal" else f"{scope.kind}-{scope.code}"


def scope_covers(scope: KeyScope, alert: Alert) -> bool:
    """Whether a key of ``scope`` may sign ``alert``: by the districts and towns of every area of
    every info block (a second language's block must not widen the first's area)."""
    if scope.kind == "municipal":
        return True
    areas = [area for info in alert.infos for area in info.areas]
    if scope.kind == "district":
        return all(area.districts == (scope.code,) for area in areas)
    return all(
        area.districts == (scope.code[:6],) and area.towns == (scope.code,) for area in areas
    )


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A public key the receivers trust, its scope and the statuses it may sign."""

    key_id: str
    scope: KeyScope
    public_key: Ed25519PublicKey
    statuses: tuple[Status, ...]


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a signature binds besides the payload: whom it is for, over which channel, on which
    rung (a relay: the target center's code, channel ``relay``, rung 0; see relay_delivery)."""

    receiver: str
    channel: str
    rung: int

    def encoded(self) -> bytes:
        # JSON, so no field can smuggle a separator into another.
        return json.dumps([self.receiver, self.channel, self.rung], separators=(",", ":")).encode()


RELAY_CHANNEL: Final = "relay"


def relay_delivery(district: str, town: str = "") -> Delivery:
    """The delivery a relay to a town center (``town``) or a district center is signed for."""
    return Delivery(town or district, RELAY_CHANNEL, 0)


def _message(key_id: str, delivery: Delivery, payload: bytes) -> bytes:
    return _DOMAIN + key_id.encode("utf-8") + b"\x00" + delivery.encoded() + b"\x00" + payload


class Signer:
    """A center's private key: signs the payloads it publishes."""

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey) -> None:
        self.key_id = key_id
        self._key = private_key

    def sign(self, payload: bytes, delivery: Delivery) -> str:
        signature = self._key.sign(_message(self.key_id, delivery, payload))
        return base64.b64encode(signature).decode("ascii")

    def properties(self, payload: bytes, delivery: Delivery) -> tuple[tuple[str, str], ...]:
        """The user properties that carry the signature of ``payload`` for ``delivery``."""
        return ((SIG_KEY_PROPERTY, self.key_id), (SIG_PROPERTY, self.sign(payload, delivery)))


class Keyring:
    """The trusted public keys by id (what a receiver is given; no private key)."""

    def __init__(self, records: dict[str, KeyRecord]) -> None:
        self.records = dict(records)

    def get(self, key_id: str) -> KeyRecord | None:
        return self.records.get(key_id)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to one received alert: its outcome, the alert if decoded, and why."""

    outcome: Literal["accepted", "duplicate", "rejected"]
    reason: RejectReason | None = None
    alert: Alert | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"


@dataclass
class Verifier:
    """Checks alerts for one receiver; keeps the identifiers it accepted and counts outcomes.

    ``tolerance_s``: how far ``sent`` may lie from the receiver's clock (either way) before the
    alert counts as a replay. ``expected_status``: the status this receiver's world runs in (an
    exercise environment rejects an alert shown as ``Actual``). ``seen_max``: identifiers kept,
    oldest forgotten first; anything older than the tolerance is rejected by ``sent`` anyway.
    """

    keyring: Keyring
    tolerance_s: float = 30.0
    expected_status: tuple[Status, ...] = EXERCISE_STATUSES
    seen_max: int = 100_000
    counts: Counter[str] = field(default_factory=Counter)
    _seen: OrderedDict[tuple[str, str], None] = field(default_factory=OrderedDict)
    # payload -> the alert it decoded to, once a trusted signature over it held: a town's
    # members get the same bytes, so the decode is done once. The signature binds the delivery
    # (recipient, channel, rung), so it is checked on every message, as is everything after.
    decoded_max: int = 4096
    _decoded: OrderedDict[bytes, Alert] = field(default_factory=OrderedDict)

    def verify(
        self,
        payload: bytes,
        properties: tuple[tuple[str, str], ...],
        *,
        delivery: Delivery,
        district: str | None = None,
        town: str | None = None,
        now: datetime | None = None,
    ) -> Verdict:
        """Verify one alert delivered as ``delivery`` (to a receiver of ``district``/``town``)."""
        verdict = self._verify(payload, properties, delivery, district, town, now)
        self.counts[verdict.reason or verdict.outcome] += 1
        return verdict

    def _verify(
        self,
        payload: bytes,
        properties: tuple[tuple[str, str], ...],
        delivery: Delivery,
        district: str | None,
        town: str | None,
        now: datetime | None,
    ) -> Verdict:
        props = _props(properties)
        key_id, signature = props.get(SIG_KEY_PROPERTY), props.get(SIG_PROPERTY)
        if not key_id or not signature:
            return _reject("unsigned", "expected user properties sig_key and sig, got none")
        record = self.keyring.get(key_id)
        if record is None:
            return _reject(
                "unknown_key", f"sig_key: expected a trusted key id, got {key_id[:80]!r}"
            )
        try:
            raw = base64.b64decode(signature.encode("ascii"), validate=True)
            record.public_key.verify(raw, _message(key_id, delivery, payload))
        except (InvalidSignature, binascii.Error, UnicodeEncodeError, ValueError):
            return _reject(
                "bad_signature",
                f"sig: not a valid signature of {key_id} over the payload for "
                f"{delivery.receiver[:64]!r} on {delivery.channel[:32]!r} rung {delivery.rung}",
            )
        alert = self._decoded.get(payload)
        if alert is None:
            # Signed by a trusted key: the bytes are the center's own, so a schema error is
            # its bug.
            try:
                alert = decode_payload(payload)
            except MessageError as exc:
                return _reject("payload", str(exc))
            self._decoded[payload] = alert
            if len(self._decoded) > self.decoded_max:
                self._decoded.popitem(last=False)
        if not scope_covers(record.scope, alert):
            area = alert.info.area
            return _reject(
                "out_of_scope",
                f"{key_id}: expected an area within its {record.scope.kind} "
                f"{record.scope.code or 'city'}, got districts {list(area.districts)} "
                f"towns {list(area.towns)}",
                alert,
            )
        if alert.status not in record.statuses or alert.status not in self.expected_status:
            return _reject(
                "status_mismatch",
                f"status: expected one of {[s.value for s in self.expected_status]} signable by "
                f"{key_id}, got {alert.status.value}",
                alert,
            )
        if not _for_receiver(alert, district, town):
            return _reject(
                "not_for_me", f"area: expected district {district} town {town}, got another", alert
            )
        now = now or datetime.now(UTC)
        if alert.info.expires is not None and alert.info.expires <= now:
            return _reject(
                "expired", f"expires: {alert.info.expires.isoformat()} has passed", alert
            )
        if abs((now - alert.sent).total_seconds()) > self.tolerance_s:
            return _reject(
                "replayed",
                f"sent: expected within {self.tolerance_s:g} s of {now.isoformat()}, "
                f"got {alert.sent.isoformat()}",
                alert,
            )
        key = (delivery.receiver, alert.identifier)
        if key in self._seen:
            return Verdict("duplicate", None, alert, f"identifier {alert.identifier} seen before")
        self._seen[key] = None
        if len(self._seen) > self.seen_max:
            self._seen.popitem(last=False)
        return Verdict("accepted", None, alert)


def _props(properties: tuple[tuple[str, str], ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in properties:
        out.setdefault(name, value)
    return out


def _reject(reason: RejectReason, detail: str, alert: Alert | None = None) -> Verdict:
    return Verdict("rejected", reason, alert, detail)


def _for_receiver(alert: Alert, district: str | None, town: str | None) -> bool:
    area = alert.info.area
    if district is not None and district not in area.districts:
        return False
    # An alert without towns covers its whole district; with towns, only those.
    return town is None or not town or not area.towns or town in area.towns


# -- key files --------------------------------------------------------------------------------


def write_key_set(
    folder: Path,
    districts: dict[str, list[str]],
    *,
    exercise_only: bool = True,
    valid_days: int = 365,
    now: datetime | None = None,
) -> dict[str, int]:
    """Create one key per center: ``private/<key_id>.pem`` each and the public ``trust.json``.

    ``districts`` maps each district code to its town codes. Returns how many keys of each kind.
    """
    now = now or datetime.now(UTC)
    private = folder / "private"
    private.mkdir(parents=True, exist_ok=True)
    scopes = [KeyScope("municipal")]
    for code, towns in sorted(districts.items()):
        scopes.append(KeyScope("district", code))
        scopes.extend(KeyScope("town", t) for t in sorted(towns))
    statuses = [s.value for s in (EXERCISE_STATUSES if exercise_only else tuple(Status))]
    keys: list[dict[str, object]] = []
    for scope in scopes:
        key_id = key_id_for(scope)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = private / f"{key_id}.pem"
        path.write_bytes(pem)
        path.chmod(0o600)
        keys.append(
            {
                "keyId": key_id,
                "scope": scope.kind,
                "code": scope.code,
                "publicKey": base64.b64encode(_public_bytes(key.public_key())).decode("ascii"),
                "statuses": statuses,
                "notAfter": (now + timedelta(days=valid_days)).isoformat(),
            }
        )
    trust = {"version": 1, "created": now.isoformat(), "keys": keys}
    (folder / TRUST_FILE).write_text(json.dumps(trust, indent=1) + "\n", encoding="utf-8")
    return dict(Counter(s.kind for s in scopes))


def load_signer(folder: Path, key_id: str) -> Signer:
    """The private key ``key_id`` of a key set written by :func:`write_key_set`."""
    path = folder / "private" / f"{key_id}.pem"
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SigningError(f"{path}: expected an Ed25519 private key in PEM, got {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: expected an Ed25519 private key, got {type(key).__name__}")
    return Signer(key_id, key)


def load_keyring(folder_or_file: Path, *, now: datetime | None = None) -> Keyring:
    """The trusted keys of ``trust.json``; keys past their ``notAfter`` are left out."""
    path = folder_or_file / TRUST_FILE if folder_or_file.is_dir() else folder_or_file
    now = now or datetime.now(UTC)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["keys"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"{path}: expected a trust file with a keys list, got {exc}") from None
    records: dict[str, KeyRecord] = {}
    for index, entry in enumerate(entries):
        where = f"{path}: keys[{index}]"
        try:
            scope = KeyScope(entry["scope"], entry["code"])
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["publicKey"]))
            statuses = tuple(Status(s) for s in entry["statuses"])
            not_after = datetime.fromisoformat(entry["notAfter"])
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise SigningError(
                f"{where}: expected keyId, scope, code, publicKey, statuses, notAfter; {exc}"
            ) from None
        if not_after <= now:
            continue
        records[entry["keyId"]] = KeyRecord(entry["keyId"], scope, public, statuses)
    return Keyring(records)
