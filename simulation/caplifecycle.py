"""The CAP form of a warning's Update or Cancel: msgType, references and an all-clear info block.

A run writes every message it issued into its folder (``alerts/*.xml``). The alert a warning
builds (`dispatcher.wire.alerts.warning_alert`) is an Alert; an Update is the same message with
``msgType Update`` and ``references`` to the earlier messages it supersedes, and a Cancel also
says the warning is over: urgency Past, severity Minor, certainty Observed, responseType
AllClear, and the headline marked lifted (解除 in Chinese, "cancelled" otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from dispatcher.wire.capvocab import Reference, ResponseType
from dispatcher.wire.messages import Alert, Certainty, Info, MsgType, Severity, Urgency

__all__ = ["lifecycle_message", "lifecycle_payload"]


def _cancelled(info: Info) -> Info:
    chinese = info.language.lower().startswith("zh")
    headline = f"解除{info.headline}" if chinese else f"{info.headline} cancelled"
    return info.model_copy(
        update={
            "urgency": Urgency.PAST,
            "severity": Severity.MINOR,
            "certainty": Certainty.OBSERVED,
            "response_type": (ResponseType.ALL_CLEAR,),
            "headline": headline,
        }
    )


def lifecycle_message(
    alert: Alert, msg_type: str, references: tuple[str, ...], sent: Mapping[str, datetime]
) -> Alert:
    """``alert`` as the ``msg_type`` message it is, referring to ``references`` (identifiers
    of earlier messages from the same sender, sent at ``sent[identifier]``)."""
    if msg_type == "Alert" and not references:
        return alert
    refs = tuple(
        Reference(sender=alert.sender, identifier=identifier, sent=sent[identifier])
        for identifier in references
    )
    update: dict[str, object] = {"msg_type": MsgType(msg_type), "references": refs}
    if msg_type == "Cancel":
        update["info"] = _cancelled(alert.info)
        update["more_info"] = tuple(map(_cancelled, alert.more_info))
    return Alert.model_validate(alert.model_copy(update=update).model_dump())


def lifecycle_payload(
    payload: bytes, msg_type: str, references: tuple[str, ...], sent: Mapping[str, datetime]
) -> bytes:
    """A recipient's alert payload (CAP JSON or compact XML, kept as it is) as the ``msg_type``
    message it is, with its ``references``: what live mode publishes for an Update."""
    from dispatcher.wire.capxml import decode_cap, encode_cap, is_xml
    from dispatcher.wire.messages import decode_alert, encode_alert

    if msg_type == "Alert" and not references:
        return payload
    if is_xml(payload):
        return encode_cap(
            lifecycle_message(decode_cap(payload), msg_type, references, sent), pretty=False
        )
    return encode_alert(lifecycle_message(decode_alert(payload), msg_type, references, sent))
