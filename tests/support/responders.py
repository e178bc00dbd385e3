"""Responders for dispatcher tests over a real broker: reconnect, verify, deduplicate, acknowledge.

All recipients share one MQTT 5 connection that comes back after the broker does (as a phone's
app would). With ``persistent=True`` the session outlives a disconnect (clean start off, one hour
session expiry), so a broker with persistence queues what it could not deliver meanwhile.
A duplicate is acknowledged again: the dispatcher may have lost the first acknowledgement.
With ``answer_delay_s`` each recipient answers after that many seconds (by recipient id), so
that acknowledgements are spread out in time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from dispatcher.transport.base import Message
from dispatcher.trust.inbox import Inbox
from dispatcher.trust.signing import Verifier, load_keyring
from dispatcher.wire.messages import Ack, encode_ack
from dispatcher.wire.topics import ack_topic


class MqttResponders:
    def __init__(
        self,
        host: str,
        port: int,
        keys: Path,
        *,
        persistent: bool = False,
        client_id: str = "responders",
        keepalive_s: int = 5,
        answer_delay_s: Callable[[str], float] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.persistent = persistent
        self.client_id = client_id
        self.keepalive_s = keepalive_s
        self.inbox = Inbox(Verifier(load_keyring(keys)))
        self.accepted: Counter[str] = Counter()  # recipient -> alerts shown
        self.received_at: dict[str, float] = {}  # recipient -> loop time of first acceptance
        self.shown: Counter[tuple[str, str]] = Counter()  # (alert, recipient) -> times shown
        self.answered: Counter[tuple[str, str]] = Counter()  # (alert, recipient) -> acks sent
        self.answer_delay_s = answer_delay_s
        self._answering: set[asyncio.Task[None]] = set()
        self.connects = 0
        self.topic_filter = "alertsim/v1/alert/#"
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MqttResponders:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        for answering in list(self._answering):
            answering.cancel()
        # aiomqtt's exit may sit in a graceful disconnect over a connection a fault has
        # swallowed; cancel again rather than wait for it.
        for _ in range(5):
            self._task.cancel()
            done, _pending = await asyncio.wait({self._task}, timeout=1.0)
            if done:
                break

    def _client(self) -> aiomqtt.Client:
        properties = None
        if self.persistent:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 3600
        return aiomqtt.Client(
            self.host,
            self.port,
            identifier=self.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=not self.persistent,
            properties=properties,
            keepalive=self.keepalive_s,
            timeout=2.0,
        )

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(aiomqtt.MqttError):
                async with self._client() as client:
                    self.connects += 1
                    await client.subscribe(self.topic_filter, qos=1)
                    self.ready.set()
                    async for m in client.messages:
                        await self._handle(client, m)
            await asyncio.sleep(0.1)

    async def _handle(self, client: aiomqtt.Client, m: aiomqtt.Message) -> None:
        users = getattr(m.properties, "UserProperty", None) or []
        payload = m.payload if isinstance(m.payload, bytes) else b""
        message = Message(m.topic.value, payload, user_properties=tuple(users))
        if message.user_property("kind") == "escalation":
            return
        verdict = self.inbox.receive(message)
        if verdict.alert is None or verdict.outcome == "rejected":
            return
        rid = m.topic.value.rsplit("/", 1)[1]
        if verdict.accepted:
            self.accepted[rid] += 1
            self.shown[(verdict.alert.identifier, rid)] += 1
            self.received_at.setdefault(rid, asyncio.get_running_loop().time())
        ack = Ack(
            alert_id=verdict.alert.identifier,
            recipient_id=rid,
            sent=datetime.now(UTC),
            channel=message.user_property("channel") or "app_push",
        )
        if self.answer_delay_s is None:
            await self._answer(client, ack)
            return
        task = asyncio.create_task(self._answer(client, ack, self.answer_delay_s(rid)))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer(self, client: aiomqtt.Client, ack: Ack, after_s: float = 0.0) -> None:
        if after_s > 0:
            await asyncio.sleep(after_s)  # the person's own time to answer, not a wait
        with contextlib.suppress(aiomqtt.MqttError):  # gone with its connection
            await client.publish(ack_topic(ack.alert_id, ack.recipient_id), encode_ack(ack), qos=1)
            self.answered[(ack.alert_id, ack.recipient_id)] += 1
