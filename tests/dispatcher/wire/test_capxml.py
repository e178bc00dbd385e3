"""CAP 1.2 XML: the OASIS examples and alertsim's samples round-trip, hostile XML is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from dispatcher.errors import AlertsimError
from dispatcher.wire.capxml import (
    MAX_XML_BYTES,
    CapError,
    decode_cap,
    decode_payload,
    encode_cap,
    is_xml,
    validate_cap,
)
from dispatcher.wire.messages import (
    MAX_PAYLOAD_BYTES,
    Alert,
    MessageError,
    MsgType,
    decode_alert,
    encode_alert,
)
from tests.support.cap_messages import alerts, make_alert
from tests.test_structure import ROOT

EXAMPLES = sorted((Path(__file__).parent / "cap_examples").glob("*.xml"))
SAMPLES = sorted((ROOT / "config" / "cap" / "examples").glob("*.xml"))
SCHEMA = etree.XMLSchema(etree.parse(str(ROOT / "dispatcher/wire/schema/CAP-v1.2.xsd")))


def valid(document: bytes) -> bool:
    return bool(SCHEMA.validate(etree.fromstring(document)))


def problems_of(document: bytes) -> tuple[str, ...]:
    with pytest.raises(CapError) as caught:
        decode_cap(document)
    assert isinstance(caught.value, AlertsimError)
    return caught.value.problems


def test_the_four_oasis_examples_and_the_samples_are_here() -> None:
    assert len(EXAMPLES) == 4
    assert {path.name for path in SAMPLES} >= {
        "cq-wanzhou-rainstorm-alert.xml",
        "cq-wanzhou-rainstorm-update.xml",
    }


@pytest.mark.parametrize("path", EXAMPLES + SAMPLES, ids=lambda path: path.name)
def test_real_cap_parses_writes_back_valid_and_parses_back_equal(path: Path) -> None:
    original = path.read_bytes()
    assert valid(original)
    alert = decode_cap(original)
    written = encode_cap(alert)
    assert valid(written)
    assert decode_cap(written) == alert
    assert decode_alert(encode_alert(alert)) == alert  # the JSON form carries the same model


def test_the_oasis_examples_keep_their_vocabulary() -> None:
    homeland, storm, quake, amber = (decode_cap(path.read_bytes()) for path in EXAMPLES)
    assert homeland.info.expires is None
    assert homeland.info.resource[0].mime_type == "image/gif"
    assert [(p.value_name, p.value) for p in homeland.info.parameter] == [("HSAS", "ORANGE")]
    assert storm.info.area.polygons[0][0] == (38.47, -120.14)
    assert [g.value for g in storm.info.area.geocodes] == ["006109", "006009", "006003"]
    assert storm.info.area.districts == ()
    assert quake.msg_type == MsgType.UPDATE
    assert quake.references[0].identifier == "TRI13970876.1"
    assert quake.references[0].sent.isoformat() == "2003-06-12T03:30:00+00:00"
    assert (quake.info.area.circles[0].latitude, quake.info.area.circles[0].radius_km) == (
        32.9525,
        0.0,
    )
    assert [info.language for info in amber.infos] == ["en-US", "es-US"]
    assert amber.source == "SW"


def test_the_chongqing_update_is_bilingual_with_cpeas_towns_and_references() -> None:
    first, update = (decode_cap(path.read_bytes()) for path in SAMPLES[:2])
    assert [info.language for info in update.infos] == ["zh-CN", "en-US"]
    assert update.info.area.districts == ("500101",)
    assert update.info.area.towns == ("500101001", "500101002", "500101003")
    assert update.info.warning_level == "red"
    assert update.references[0].identifier == first.identifier
    assert update.references[0].sent == first.sent
    written = encode_cap(update).decode()
    assert "<value>500101003000</value>" in written
    assert "<valueName>CPEAS Geographic Code</valueName>" in written


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alerts(xml=True))
def test_any_alert_written_as_xml_validates_and_reads_back_equal(alert: Alert) -> None:
    written = encode_cap(alert)
    assert valid(written)
    assert decode_cap(written) == alert


def test_sub_second_times_are_dropped_as_cap_times_are_whole_seconds() -> None:
    alert = make_alert(sent=make_alert().sent.replace(microsecond=250_000))
    assert b"<sent>2025-07-20T08:00:00+00:00</sent>" in encode_cap(alert)


def test_a_geocode_that_is_no_division_code_is_named_with_its_path() -> None:
    document = SAMPLES[0].read_bytes().replace(b"500101002000", b"5001010020", 1)
    assert problems_of(document) == (
        "alert/info[1]/area[1]/geocode[2]/value: expected a 6-, 9- or 12-digit division code, "
        "got '5001010020'",
    )


def test_schema_problems_are_all_listed_with_element_path_and_line() -> None:
    document = (
        SAMPLES[0]
        .read_bytes()
        .replace(b"<status>Exercise", b"<status>Drill")
        .replace(b"<certainty>Likely</certainty>", b"", 1)
    )
    problems = problems_of(document)
    assert len(problems) == 2
    assert problems[0].startswith("alert/status (line 8): [facet 'enumeration'] The value 'Drill'")
    assert problems[1].startswith("alert/info[1]/expires (line 19): This element is not expected.")
    assert "Expected is ( certainty )" in problems[1]
    assert validate_cap(document) == list(problems)


def test_model_rules_beyond_the_schema_name_the_element() -> None:
    document = (
        SAMPLES[0].read_bytes().replace(b"<value>orange</value>", b"<value>purple</value>", 1)
    )
    (problem,) = problems_of(document)
    assert problem.startswith("alert/info[1]/parameter: expected one of blue, yellow, orange, red")
    expired = SAMPLES[0].read_bytes().replace(b"2025-07-20T14:00:00", b"2025-07-20T07:00:00", 1)
    assert problems_of(expired)[0].startswith("alert/info[1]: expected expires after sent")


def test_an_alert_without_info_is_valid_cap_but_not_one_alertsim_can_act_on() -> None:
    document = (
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier>'
        b"<sender>s</sender><sent>2025-07-20T08:00:00+08:00</sent><status>Test</status>"
        b"<msgType>Alert</msgType><scope>Public</scope></alert>"
    )
    assert valid(document)
    assert problems_of(document) == (
        "alert: expected at least one info block (alertsim acts on one), got none",
    )


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1 or "") + ";") * 10}">'.encode()
        for n in range(1, 10)
    )
    + b']><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&lol9;</alert>'
)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (XXE, "document: expected XML without a DOCTYPE or entity declarations"),
        (LAUGHS, "document: expected XML without a DOCTYPE or entity declarations"),
        (
            XXE.decode().encode("utf-16"),
            "document: expected XML without a DOCTYPE",
        ),
        (b"", "document: expected a CAP 1.2 XML alert, got 0 blank bytes"),
        (b"<alert", "document: expected well-formed XML"),
        (
            b" " * (MAX_XML_BYTES + 1),
            f"document: expected at most {MAX_XML_BYTES} bytes, got {MAX_XML_BYTES + 1}",
        ),
        (
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"/>',
            "alert: expected the element alert in namespace urn:oasis:names:tc:emergency:cap:1.2 "
            "(CAP 1.2), got alert in urn:oasis:names:tc:emergency:cap:1.1",
        ),
        (b"<alert/>", "alert: expected the element alert in namespace"),
    ],
    ids=["xxe", "billion-laughs", "utf16-doctype", "empty", "malformed", "oversize", "ns", "no-ns"],
)
def test_hostile_or_foreign_documents_are_refused_never_expanded(
    document: bytes, expected: str
) -> None:
    (problem,) = problems_of(document)
    assert problem.startswith(expected), problem
    assert "root:" not in problem  # nothing of /etc/passwd was read


def test_text_xml_cannot_hold_is_refused_when_writing() -> None:
    with pytest.raises(CapError, match=r"alert/info\[1\]/headline: expected text XML can hold"):
        encode_cap(make_alert(info=make_alert().info.model_copy(update={"headline": "a\x00b"})))


def test_payloads_are_told_apart_by_content() -> None:
    alert = make_alert()
    assert is_xml(encode_cap(alert))
    assert is_xml(b"\xef\xbb\xbf  <alert/>")
    assert not is_xml(encode_alert(alert))


def test_a_payload_is_decoded_as_xml_or_json_by_its_content() -> None:
    alert = make_alert()
    compact = encode_cap(alert, pretty=False)
    assert b"\n  <" not in compact
    assert decode_payload(compact) == decode_payload(encode_alert(alert)) == alert
    with pytest.raises(MessageError) as caught:
        decode_payload(compact.replace(b"<status>Actual", b"<status>Real"))
    assert caught.value.reason == "schema"
    assert caught.value.detail.startswith("alert/status (line 2): [facet 'enumeration']")
    with pytest.raises(MessageError) as caught:
        decode_payload(b"<" + b" " * MAX_PAYLOAD_BYTES)
    assert caught.value.reason == "oversize"
