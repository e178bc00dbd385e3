"""A locked-down mosquitto for tests: the config `alertsim broker-config` writes, on a free port."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from dispatcher.core.plan import Recipient
from dispatcher.trust.brokerauth import BrokerFiles, write_broker_config
from tests.support.broker import Broker, free_port


@dataclass
class SecureBroker(Broker):
    """`Broker` started from a generated locked-down config; `extra_config` is appended."""

    responders: list[Recipient] = field(default_factory=list)
    tls_port: int | None = None
    files: BrokerFiles | None = None

    def write_config(self) -> Path:
        if self.files is None:
            self.files = write_broker_config(
                self.workdir / "broker", self.responders, port=self.port, tls_port=self.tls_port
            )
        path = self.workdir / f"mosquitto-secure-{self.port}.conf"
        # Started as root, mosquitto drops to user mosquitto, which cannot read the 0600 files.
        stay = "user root\n" if os.geteuid() == 0 else ""
        path.write_text(self.files.conf.read_text() + stay + self.extra_config)
        return path

    def password(self, user: str) -> str:
        assert self.files is not None
        return str(json.loads(self.files.credentials.read_text())[user])


def secure_broker(workdir: Path, responders: list[Recipient], **kw: object) -> SecureBroker:
    return SecureBroker(workdir, responders=responders, **kw).start()  # type: ignore[arg-type,return-value]


__all__ = ["SecureBroker", "free_port", "secure_broker"]
