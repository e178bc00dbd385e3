"""The live driver: one `World` over a transport, from a pacer, a live reach and an inbound side.

Build the world with the driver's reach (`World(..., reach=driver.reach)`), start the transport,
then `run` it: the pacer steps the model at a wall-clock pace, the reach publishes its deliveries
and relays through the outbox, and the inbound side turns what comes back into model events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from dispatcher.transport import Message, Transport
from dispatcher.trust.inbox import Inbox
from dispatcher.wire.envelopes import PayloadFormat
from dispatcher.wire.topics import ACK_FILTER, CENTER_FILTERS
from simulation.hazards import WarningIssued
from simulation.live.inbound import Inbound
from simulation.live.keys import AlertSigners
from simulation.live.pacer import LiveLagError, Pacer
from simulation.live.reach import LiveCounters, LiveReach, Outbox
from simulation.model.world import World

__all__ = ["LiveDriver", "LiveLagError"]


class LiveDriver:
    """Runs one `World` live over `transport`, at `speed` model seconds per wall second."""

    def __init__(
        self,
        transport: Transport,
        *,
        speed: float,
        strict: bool = False,
        max_lag_s: float = 0.5,
        grace_s: float = 0.5,
        signers: AlertSigners | None = None,
        relay_inbox: Inbox | None = None,
        payload: PayloadFormat = "json",
    ) -> None:
        self.transport = transport
        self.grace_s = grace_s
        self.signers = signers
        self.counters = LiveCounters()
        self.pacer = Pacer(speed, strict=strict, max_lag_s=max_lag_s)
        self.outbox = Outbox(transport, self.counters)
        self.reach = LiveReach(self.outbox, self.pacer, self.counters, signers, payload)
        self.inbound = Inbound(self.reach, self.pacer, self.counters, relay_inbox)

    def receive(self, message: Message) -> None:
        """Check one incoming message and schedule what it means (see `Inbound.receive`)."""
        self.inbound.receive(message)

    async def run(self, world: World, replay: Sequence[WarningIssued] = ()) -> None:
        """Start the world (on ``replay``'s warnings, if any) and step it until it is done.

        The transport must be started.
        """
        if world.reach is not self.reach:
            raise ValueError(
                f"live driver: expected a world built with reach=driver.reach, got {world.reach!r}"
            )
        await self.transport.subscribe(ACK_FILTER)
        for center_filter in CENTER_FILTERS:
            await self.transport.subscribe(center_filter)
        world.start(replay)
        self.pacer.start(world.env)
        reader = asyncio.create_task(self._read())
        self.outbox.start()
        try:
            await self.pacer.run(world, self.outbox)
            await self.outbox.close()
            await self.transport.flush()
            # Receipts of the last deliveries may still be on their way back.
            await asyncio.sleep(self.grace_s)
        finally:
            reader.cancel()
            await self.outbox.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _read(self) -> None:
        async for message in self.transport.messages():
            self.inbound.receive(message)
            # What the message scheduled may be due before the event the pacer sleeps towards.
            self.pacer.wake()

    def figures(self) -> dict[str, float | int]:
        """The live section's driver figures: pacing, relays, outbox waits."""
        return {
            **self.pacer.figures(),
            "relays_published": self.counters.relays_published,
            "relays_received": self.counters.relays_received,
            "outbox_full_waits": self.counters.outbox_full_waits,
        }
