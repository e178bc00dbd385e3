"""MQTT transport that logs in: user name and password, and TLS against a given CA.

The locked-down broker (``alertsim broker-config``) refuses anonymous clients; this subclass of
:class:`~dispatcher.transport.mqtt.MqttTransport` only changes how a connection is opened, so the
reconnect loop, the queue and the error mapping stay the base class's.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import aiomqtt

from dispatcher.transport.mqtt import _AIOMQTT_LOG, MqttTransport

__all__ = ["SecureMqttTransport"]


class SecureMqttTransport(MqttTransport):
    """An `MqttTransport` with credentials and, when ``ca_file`` is given, TLS."""

    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        username: str,
        password: str,
        ca_file: Path | None = None,
        keepalive_s: int = 10,
        **kwargs: object,
    ) -> None:
        super().__init__(url, client_id=client_id, **kwargs)  # type: ignore[arg-type]
        self.username = username
        self._password = password
        self._keepalive_s = keepalive_s
        self._tls: ssl.SSLContext | None = None
        if ca_file is not None:
            self._tls = ssl.create_default_context(cafile=str(ca_file))

    def _new_client(self) -> aiomqtt.Client:
        return aiomqtt.Client(
            self.address.host,
            self.address.port,
            identifier=self.client_id,
            username=self.username,
            password=self._password,
            logger=_AIOMQTT_LOG,
            protocol=aiomqtt.ProtocolVersion.V5 if self.mqtt5 else aiomqtt.ProtocolVersion.V311,
            keepalive=self._keepalive_s,
            timeout=5.0,
            tls_context=self._tls,
            **self._session(),
        )
