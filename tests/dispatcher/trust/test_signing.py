"""Signed alerts: scope binding, every rejection reason, replay windows, key files."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dispatcher.trust.signing import (
    SIG_PROPERTY,
    Delivery,
    KeyScope,
    SigningError,
    Verifier,
    load_keyring,
    load_signer,
    scope_covers,
    write_key_set,
)
from dispatcher.wire.alerts import flood_alert
from dispatcher.wire.messages import (
    Alert,
    Status,
    encode_alert,
)
from tests.support.signed_alerts import D1, D2, NOW, T1, T2, T3, make_alert


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    counts = write_key_set(folder, {D1: [T1, T2], D2: [T3]}, now=NOW - timedelta(days=1))
    assert counts == {"municipal": 1, "district": 2, "town": 3}
    return folder


AT = Delivery("m1", "app_push", 0)


def at(receiver: str) -> Delivery:
    return Delivery(receiver, "app_push", 0)


def verify(keys: Path, alert: Alert, key_id: str, **kw: object) -> str:
    verifier = Verifier(load_keyring(keys, now=NOW))
    payload = encode_alert(alert)
    props = load_signer(keys, key_id).properties(payload, AT)
    now = kw.pop("now", NOW)
    verdict = verifier.verify(payload, props, delivery=AT, now=now, **kw)  # type: ignore[arg-type]
    return verdict.reason or verdict.outcome


def test_each_tier_signs_within_its_scope(keys: Path) -> None:
    assert verify(keys, make_alert(), "town-500101001", district=D1, town=T1) == "accepted"
    assert verify(keys, make_alert(towns=()), "district-500101", district=D1) == "accepted"
    city = make_alert(districts=(D1, D2), towns=())
    assert verify(keys, city, "municipal", district=D2, town=T3) == "accepted"


@pytest.mark.parametrize(
    ("key_id", "districts", "towns"),
    [
        ("town-500101001", (D1, D2), ()),  # a town key signing a city-wide alert
        ("town-500101001", (D1,), ()),  # ... a district-wide one
        ("town-500101001", (D1,), (T2,)),  # ... a neighbouring town's
        ("district-500101", (D2,), ()),  # a district key signing another district's
        ("district-500101", (D1, D2), ()),
    ],
)
def test_out_of_scope_rejected(
    keys: Path, key_id: str, districts: tuple[str, ...], towns: tuple[str, ...]
) -> None:
    alert = make_alert(districts=districts, towns=towns)
    assert verify(keys, alert, key_id) == "out_of_scope"


def test_scope_covers_matches_the_tiers() -> None:
    alert = make_alert(towns=(T1, T2))
    assert scope_covers(KeyScope("district", D1), alert)
    assert not scope_covers(KeyScope("town", T1), alert)
    with pytest.raises(SigningError, match="expected 9 ASCII digits"):
        KeyScope("town", "５00101001")


def test_a_bilingual_alert_is_accepted_and_a_second_block_may_not_widen_the_area(
    keys: Path,
) -> None:
    town = flood_alert("a-1", "s", "red", NOW, NOW + timedelta(hours=1), D1, T1)
    assert [info.language for info in town.infos] == ["zh-CN", "en-US"]
    assert verify(keys, town, "town-500101001", district=D1, town=T1) == "accepted"
    wider = town.info.area.model_copy(update={"towns": (T1, T2)})
    widened = town.model_copy(
        update={"more_info": (town.more_info[0].model_copy(update={"area": wider}),)}
    )
    assert verify(keys, widened, "town-500101001", district=D1, town=T1) == "out_of_scope"
    assert verify(keys, widened, "district-500101", district=D1, town=T1) == "accepted"


def test_unsigned_unknown_and_tampered_rejected(keys: Path) -> None:
    verifier = Verifier(load_keyring(keys, now=NOW))
    payload = encode_alert(make_alert())
    props = load_signer(keys, "municipal").properties(payload, AT)
    assert verifier.verify(payload, (), delivery=AT, now=NOW).reason == "unsigned"
    unknown = (("sig_key", "town-9"), props[1])
    assert verifier.verify(payload, unknown, delivery=AT, now=NOW).reason == "unknown_key"
    tampered = payload.replace(b"Exercise", b"Actual")
    assert verifier.verify(tampered, props, delivery=AT, now=NOW).reason == "bad_signature"
    # A signature is bound to its key's name: relabelled, it fails.
    relabelled = (("sig_key", "district-500101"), props[1])
    assert verifier.verify(payload, relabelled, delivery=AT, now=NOW).reason == "bad_signature"
    garbled = (props[0], (SIG_PROPERTY, "%%%"))
    assert verifier.verify(payload, garbled, delivery=AT, now=NOW).reason == "bad_signature"
    assert verifier.counts == {"unsigned": 1, "unknown_key": 1, "bad_signature": 3}


def test_actual_rejected_in_an_exercise_world(keys: Path) -> None:
    # Exercise keys cannot sign Actual, and an exercise receiver does not show Actual.
    assert verify(keys, make_alert(status=Status.ACTUAL), "municipal") == "status_mismatch"
    assert verify(keys, make_alert(status=Status.TEST), "municipal") == "accepted"


def test_expired_and_replayed_after_a_minute_and_a_day(keys: Path) -> None:
    alert = make_alert(expires_in_s=600)
    assert verify(keys, alert, "municipal", now=NOW + timedelta(seconds=60)) == "replayed"
    assert verify(keys, alert, "municipal", now=NOW + timedelta(days=1)) == "expired"
    long_lived = make_alert(expires_in_s=7 * 86400)
    assert verify(keys, long_lived, "municipal", now=NOW + timedelta(days=1)) == "replayed"
    # from the future beyond the tolerance: also refused
    assert verify(keys, alert, "municipal", now=NOW - timedelta(seconds=60)) == "replayed"


def test_seen_identifier_is_a_duplicate_per_receiver(keys: Path) -> None:
    verifier = Verifier(load_keyring(keys, now=NOW))
    payload = encode_alert(make_alert())
    signer = load_signer(keys, "municipal")
    outcomes = [
        verifier.verify(payload, signer.properties(payload, at(r)), delivery=at(r), now=NOW).outcome
        for r in ("m1", "m1", "m2")
    ]
    assert outcomes == ["accepted", "duplicate", "accepted"]
    assert verifier.counts == {"accepted": 2, "duplicate": 1}


def test_same_bytes_decoded_once_but_signature_judged_per_message(keys: Path) -> None:
    """A payload is decoded once; signature, receiver, expiry and replay are judged every time."""
    verifier = Verifier(load_keyring(keys, now=NOW))
    payload = encode_alert(make_alert(expires_in_s=600))
    signer = load_signer(keys, "town-500101001")
    record = verifier.keyring.records["town-500101001"]
    counting = _CountingKey(record.public_key)
    verifier.keyring.records[record.key_id] = dataclasses.replace(record, public_key=counting)  # type: ignore[arg-type]
    reasons = [
        verifier.verify(
            payload,
            signer.properties(payload, at(r)),
            delivery=at(r),
            district=D1,
            town=t,
            now=now,
        ).reason
        or "accepted"
        for r, t, now in (
            ("m1", T1, NOW),
            ("m2", T1, NOW),
            ("m3", T2, NOW),
            ("m4", T1, NOW + timedelta(seconds=60)),
            ("m5", T1, NOW + timedelta(days=1)),
        )
    ]
    assert reasons == ["accepted", "accepted", "not_for_me", "replayed", "expired"]
    assert counting.checks == 5
    assert list(verifier._decoded) == [payload]
    # Other bytes under the same signature are checked (and refused), not taken from the cache.
    props = signer.properties(payload, at("m6"))
    tampered = payload.replace(b"go", b"stay")
    assert verifier.verify(tampered, props, delivery=at("m6"), now=NOW).reason == "bad_signature"
    assert counting.checks == 6


def test_signature_binds_recipient_channel_and_rung(keys: Path) -> None:
    """The same signed bytes replayed to another member, on another channel or rung: refused."""
    verifier = Verifier(load_keyring(keys, now=NOW))
    payload = encode_alert(make_alert())
    props = load_signer(keys, "municipal").properties(payload, Delivery("m1", "sms", 1))

    def judged(delivery: Delivery) -> str:
        verdict = verifier.verify(payload, props, delivery=delivery, district=D1, town=T1, now=NOW)
        return verdict.reason or verdict.outcome

    assert judged(Delivery("m2", "sms", 1)) == "bad_signature"
    assert judged(Delivery("m1", "sms", 2)) == "bad_signature"
    assert judged(Delivery("m1", "sms", 0)) == "bad_signature"
    assert judged(Delivery("m1", "voice_call", 1)) == "bad_signature"
    # No field can pose as another: the delivery is encoded as a JSON array.
    assert judged(Delivery("m1", 'sms",1', 1)) == "bad_signature"
    assert judged(Delivery("m1", "sms", 1)) == "accepted"


class _CountingKey:
    def __init__(self, key: Ed25519PublicKey) -> None:
        self.key, self.checks = key, 0

    def verify(self, signature: bytes, data: bytes) -> None:
        self.checks += 1
        self.key.verify(signature, data)


def test_alert_for_another_town_is_not_for_me(keys: Path) -> None:
    assert verify(keys, make_alert(), "municipal", district=D1, town=T2) == "not_for_me"


def test_expired_keys_are_not_trusted(tmp_path: Path) -> None:
    write_key_set(tmp_path, {D1: [T1]}, valid_days=1, now=NOW - timedelta(days=2))
    assert load_keyring(tmp_path, now=NOW).records == {}


def test_bad_trust_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "trust.json").write_text('{"keys": [{"keyId": "x"}]}')
    with pytest.raises(SigningError, match=r"trust.json: keys\[0\]"):
        load_keyring(tmp_path)
