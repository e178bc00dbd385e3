"""A locked-down mosquitto for tests: the config `alertsim broker-config` writes, on a free port."""

from __future__ import annotations

import json
import os
import re
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
        # pytest's folders are 0700 root, so the user a root-generated conf names (mosquitto)
        # could not reach the files: tests run it as root (test_trust_cli starts the conf as
        # generated, from a folder it can reach).
        conf = self.files.conf.read_text()
        if os.geteuid() == 0:
            conf = re.sub(r"(?m)^user .*$", "user root", conf)
        path.write_text(conf + self.extra_config)
        return path

    def password(self, user: str) -> str:
        assert self.files is not None
        return str(json.loads(self.files.credentials.read_text())[user])


def secure_broker(workdir: Path, responders: list[Recipient], **kw: object) -> SecureBroker:
    return SecureBroker(workdir, responders=responders, **kw).start()  # type: ignore[arg-type,return-value]


__all__ = ["SecureBroker", "free_port", "secure_broker"]
