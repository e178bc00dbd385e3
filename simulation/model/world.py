"""The SimPy world: builds centers and channels, and carries out the policy's commands.

The world is the policy's driver in model time. Everything that happens (an alert issued, a
relay arriving, a delivery, an acknowledgement, a timer) becomes an event for `Policy.handle`,
and every command it returns is executed here by scheduling SimPy events. The world makes no
decisions of its own. What lies past the channels (the network they ride, the responders, the
other centers' inboxes) is its `Reach`: virtual by default, and the world never asks which.

Whoever steps the model from outside (a driver pacing it) uses `step`, and hands the world what
it learns through `handle`, `reply` and `stamp`, the methods a reach uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import simpy
from simpy.core import EmptySchedule

from dispatcher.core.commands import (
    AlertCompleted,
    CallCenter,
    CallOff,
    Command,
    Confirm,
    Dispatch,
    ExpireAt,
    Flagged,
    Notify,
    Process,
    Relay,
    StartRelayTimer,
    StartTimer,
)
from dispatcher.core.events import (
    Acknowledged,
    AlertExpired,
    AlertIssued,
    CenterProcessed,
    Delivered,
    Event,
    RelayConfirmed,
    RelayReceived,
    RelayTimerFired,
    make_timer_fired,
)
from dispatcher.core.plan import (
    MUNICIPAL,
    AlertPlan,
    Center,
)
from dispatcher.core.policy import Policy, PolicySettings
from dispatcher.core.relays import RelaySettings
from dispatcher.core.tracker import RecipientRecord, RiskPointRecord
from dispatcher.wire.runs import virtual_run_id
from simulation.alerttext import alert_words
from simulation.behaviour import Streams, bernoulli, sampler
from simulation.hazards import HazardModel, WarningIssued
from simulation.model.alert_ids import alert_identifier
from simulation.model.background import start_all
from simulation.model.centers import CenterModel
from simulation.model.channels import ChannelModel
from simulation.model.clock import Environment
from simulation.model.episodes import LatestMessages, issued_alert
from simulation.model.plans import district_plans, narrowed_plan
from simulation.model.reach import IssuedAlert, Reach, VirtualReach
from simulation.model.routes import Walks
from simulation.scenario import Scenario
from simulation.topology.city import City


class World:
    """One replication of the city in model time; `run` it, or `step` it from a driver."""

    def __init__(
        self,
        scenario: Scenario,
        city: City,
        *,
        replication: int = 0,
        on_command: Callable[[Command, float], None] | None = None,
        reach: Reach | None = None,
        run_id: str | None = None,
    ) -> None:
        self.scenario = scenario
        self.city = city
        # Part of every alert id: derived from the replication unless given (a live run's own).
        self.run_id = run_id if run_id is not None else virtual_run_id(replication)
        self.env = Environment()
        self.done = self.env.event()
        self._events_processed = 0
        self.streams = Streams(scenario.seed, replication)
        self.policy = Policy(
            PolicySettings(
                strategy=scenario.strategy,
                ladder=tuple(scenario.escalation.ladder),
                timeout_s=tuple(scenario.escalation.timeout_s),
                relay=RelaySettings(scenario.relay.resend_after_s, scenario.relay.call_after_s),
            )
        )
        self.tracker = self.policy.tracker
        self.hazard = HazardModel(scenario.hazard, [d.code for d in city.districts])
        # The reach comes before the channels: they ride its network.
        self.reach = reach if reach is not None else VirtualReach()
        self.reach.attach(self)
        self.network = self.reach.network
        self._deliver = self.reach.deliver
        behaviour = scenario.behaviour
        self._depart_s = sampler(behaviour.depart_s, self.streams.get("behaviour.depart"))
        self._speed = sampler(behaviour.walking_speed_m_s, self.streams.get("behaviour.walk"))
        self._distance = sampler(
            behaviour.risk_point_distance_m, self.streams.get("behaviour.distance")
        )
        self.channels: dict[str, ChannelModel] = {
            name: ChannelModel(
                name,
                settings,
                self.env,
                self.streams,
                self.network,
                self.hazard,
                resend_s=scenario.network.resend_s,
            )
            for name, settings in scenario.channels.items()
        }
        relay = scenario.relay
        self._call_s = sampler(relay.call_staff_s, self.streams.get("relay.call.staff"))
        self._call_failed = bernoulli(relay.call_failure, self.streams.get("relay.call.failure"))
        self.centers = self._build_centers()
        # Staffed channels use the staff of the recipient's own town (or district) center.
        self._staff = {c.code: m for c, m in self.centers.items() if c.code}
        # (alert, recipient) -> [channel, staff requested at, granted at] per staffed attempt
        self.staff_stamps: dict[tuple[str, str], list[list[object]]] = {}
        self.queues_since_s = 0.0  # set by `start`
        self._district_plans = district_plans(city)
        self._timers: dict[float, list[Event]] = {}  # due at: events, in the order set
        self._on_command = on_command
        self.alerts: list[IssuedAlert] = []
        self._issued: dict[str, IssuedAlert] = {}
        self._open_alerts = 0
        self._alerts_to_issue = 0
        self.first_alert_at_s: float | None = None  # known once started
        self._latest = LatestMessages()
        self._walks = Walks(
            self.env,
            self.hazard,
            city.geometry,
            (self._depart_s, self._speed, self._distance),
            self.handle,
            self._check_done,
            self.policy.called_off,
        )

    # -- construction -------------------------------------------------------------------------

    def _build_centers(self) -> dict[Center, CenterModel]:
        tiers = self.scenario.tiers
        centers = {
            MUNICIPAL: CenterModel(
                MUNICIPAL,
                self.env,
                tiers.municipal.staff,
                sampler(tiers.municipal.processing_s, self.streams.get("center.municipal")),
            )
        }
        # One stream per center: which town draws which processing time must not depend on the
        # order relays happen to arrive in (a real broker reorders them; live mode is compared
        # with virtual mode draw for draw).
        streams = self.streams
        for district in self.city.districts:
            center = Center("district", district.code)
            centers[center] = CenterModel(
                center,
                self.env,
                tiers.district.staff,
                sampler(tiers.district.processing_s, streams.get(f"center.{district.code}")),
            )
            for town in district.towns:
                center = Center("town", town.code)
                centers[center] = CenterModel(
                    center,
                    self.env,
                    tiers.town.staff,
                    sampler(tiers.town.processing_s, streams.get(f"center.{town.code}")),
                )
        return centers

    # -- running ------------------------------------------------------------------------------

    def start(self, replay: Sequence[WarningIssued] = ()) -> None:
        """Schedule the hazard's warnings (or those replayed); call once, then run the model."""
        lifecycle = (self.scenario.alert.lifecycle, self.scenario.alert.expires_s)
        warnings = list(replay) or [
            w for w in map(self._in_area, self.hazard.warnings(*lifecycle)) if w is not None
        ]
        self._alerts_to_issue = len(warnings)
        self.first_alert_at_s = min((w.at_s for w in warnings), default=None)
        self.queues_since_s = start_all(
            self.centers.values(),
            self.scenario,
            self.streams,
            self.done,
            [w.at_s for w in warnings],
        )
        for seq, warning in enumerate(warnings, start=1):
            self.env.later(warning.at_s, self._issuer(warning, seq))
        if not warnings:
            self.done.succeed()

    def _in_area(self, warning: WarningIssued) -> WarningIssued | None:
        """The warning cut to the districts with towns in the drawn area; None if none has."""
        if self.city.alert_towns is None:
            return warning
        districts = tuple(c for c in warning.districts if self._district_plans[c].towns)
        return replace(warning, districts=districts) if districts else None

    def queue_figures(self) -> list[dict[str, Any]]:
        """Each center's staff tally so far (municipal first, then in plan order) and `since_s`,
        when the tally's window opened (background work's warm-up before the first alert)."""
        return [
            {**model.queue_figures(), "since_s": self.queues_since_s}
            for model in self.centers.values()
        ]

    def run(
        self, progress_every_s: float = 0.0, on_progress: Callable[[], None] | None = None
    ) -> None:
        """Run until every alert is complete and every route walked.

        Stale escalation timers still queued at that moment are left unprocessed. With
        `on_progress`, it is called every `progress_every_s` model seconds.
        """
        env = self.env
        if on_progress is not None:
            self._tick(progress_every_s, on_progress)
        # Not `env.run(until=done)`: this processes the same events in the same order and counts
        # them, which SimPy does not, and the report gives the count.
        try:
            steps = env.run_until_processed(self.done)
        except EmptySchedule:
            raise RuntimeError(
                f"the model ran out of events at {env.now} s before every alert was complete"
            ) from None
        self._events_processed += steps  # after the run: its progress ticks took theirs off

    def step(self) -> None:
        """Process the next event: for a driver that paces the model itself."""
        self.env.step()
        self._events_processed += 1

    @property
    def events_processed(self) -> int:
        """SimPy events processed so far, by `run` or `step`."""
        return self._events_processed

    def _tick(self, every_s: float, on_progress: Callable[[], None]) -> None:
        """Report progress now and every `every_s` model seconds until the run is done.

        Its events are the observer's, not the model's: `events_processed` leaves them out, so
        a run with a progress bar counts what a quiet run counts.
        """
        on_progress()
        if self.done.triggered:
            return
        if self.env.peek() == float("inf"):
            raise RuntimeError("the model ran out of events before every alert was complete")

        def tick(_: simpy.Event) -> None:
            self._events_processed -= 1  # stepped by `run`, which counted it
            self._tick(every_s, on_progress)

        self.env.later(every_s, tick)

    def _issuer(self, warning: WarningIssued, seq: int) -> Callable[[simpy.Event], None]:
        return lambda _: self._issue(warning, seq)

    def _issue(self, warning: WarningIssued, seq: int) -> None:
        alert_id = warning.identifier or alert_identifier(
            self.scenario.name, self.run_id, seq, warning.level
        )
        expires_s = (
            self.scenario.alert.expires_s if warning.expires_s is None else warning.expires_s
        )
        plan = AlertPlan(
            alert_id=alert_id,
            issued_at_s=self.env.now,
            expires_at_s=self.env.now + expires_s,
            districts=tuple(
                narrowed_plan(self._district_plans, code, warning.towns)
                for code in warning.districts
            ),
            msg_type=warning.msg_type,
            references=self._latest.issued(warning, alert_id),
        )
        words = alert_words(self.scenario.alert, warning, self.city)
        for channel in self.channels.values():
            channel.prepare(alert_id, words.lengths)
        self._alerts_to_issue -= 1
        self._open_alerts += 1
        self.handle(AlertIssued(plan))
        self.alerts.append(issued := issued_alert(plan, warning, self.tracker, words=words))
        self._issued[alert_id] = issued

    def handle(self, event: Event) -> None:
        """Hand `event` to the policy now and carry out what it commands."""
        now_s = self.env.now
        for command in self.policy.handle(event, now_s):
            self._execute(command, now_s)

    def _execute(self, command: Command, now_s: float) -> None:
        if self._on_command is not None:
            self._on_command(command, now_s)
        match command:  # the commonest first: a case is an isinstance check, tried in turn
            case Notify():
                self._notify(command)
            case StartTimer():
                alert_id, recipient_id, rung, at_s = command
                self._at(at_s, make_timer_fired(alert_id, recipient_id, rung))
            case Dispatch():
                self._walks.start(command)
            case Process():
                alert_id, center = command.alert_id, command.center
                self.centers[center].process(lambda: self.handle(CenterProcessed(alert_id, center)))
            case Relay():
                event = RelayReceived(command.alert_id, command.target)
                self.reach.relay(command.alert_id, command.target, lambda: self.handle(event))
            case Confirm():
                heard = RelayConfirmed(command.alert_id, command.center)
                self.reach.confirm(
                    command.alert_id, command.center, command.to, lambda: self.handle(heard)
                )
            case StartRelayTimer():
                fired = RelayTimerFired(command.alert_id, command.center, command.attempt)
                self._at(command.at_s, fired)
            case CallCenter():
                self._call(command)
            case ExpireAt():
                self._at(command.at_s, AlertExpired(command.alert_id))
            case AlertCompleted():
                self._open_alerts -= 1
                self._check_done()
            case Flagged() | CallOff():
                pass  # recorded by the tracker (and the policy): the report and walks read it

    def _call(self, command: CallCenter) -> None:
        """The source center's staff phone a silent center; an answered call delivers the alert."""
        answered = RelayReceived(command.alert_id, command.target, via="call")

        def done() -> None:
            if not self._call_failed():
                self.handle(answered)

        self.centers[command.source].call(self._call_s, done)

    def _at(self, at_s: float, event: Event) -> None:
        """Hand `event` to the policy at model time `at_s`.

        Timers due at the same instant share one SimPy event, which hands the policy their
        events in the order they were set: a town's members are notified together, so their
        escalation timers fall due together, and one event costs far less than many (a fifth
        of a city run's events were timers).
        """
        due = self._timers.get(at_s)
        if due is None:
            due = self._timers[at_s] = []
            self.env.later(at_s - self.env.now, self._fire, at_s)
        due.append(event)

    def _fire(self, at_s: float) -> None:
        # Timers set for this instant from now on get an event of their own. The policy takes
        # the instant's events in one call (most are stale) and gives the commands `handle`
        # would give event by event, carried out in the same order.
        now_s = self.env.now
        for command in self.policy.handle_many(self._timers.pop(at_s), now_s):
            self._execute(command, now_s)

    def _notify(self, command: Notify) -> None:
        alert_id, recipient, channel, rung = command
        center = self._staff[recipient.town or recipient.district]
        model = self.channels[channel]
        # A partial, not a lambda: one Python frame fewer on every delivery of a city run.
        delivered = partial(self._deliver, alert_id, recipient, channel, rung)
        if not model.staffed:
            model.send(recipient.district, center, delivered, None, alert_id)
            return
        stamp: list[object] = [channel, self.env.now, None]
        self.staff_stamps.setdefault((alert_id, recipient.id), []).append(stamp)
        granted = partial(_granted_at, stamp)
        model.send(recipient.district, center, delivered, granted, alert_id)

    # -- what comes back ------------------------------------------------------------------------

    def reply(self, ack: Acknowledged) -> None:
        """Carry an acknowledgement back to the dispatcher over its channel, then handle it."""
        self.channels[ack.channel].reply(partial(self.handle, ack))  # a partial: a frame fewer

    def stamp(self, delivered: Delivered, at_s: float) -> None:
        """Record that `delivered` happened at model time `at_s`, which need not be now.

        A delivery learned of after the fact (a device's receipt, a hop later) may carry its own
        moment: `Delivered` only stamps the tracker and commands nothing.
        """
        commands = self.policy.handle(delivered, at_s)
        if commands:
            raise AssertionError(f"world: {delivered!r} commanded {commands!r}")

    def issued(self, alert_id: str) -> IssuedAlert:
        """The alert issued as `alert_id`."""
        return self._issued[alert_id]

    def close(self) -> None:
        """Let the finished model go now, its results read: drop the stale events still queued
        and what ties the world and its reach into cycles, so that reference counting frees
        the model's million objects at once instead of a pass of the garbage collector (1 to 7
        seconds at city scale) some time later. Nothing of the world may be used afterwards."""
        self.env.clear()
        if isinstance(self.reach, VirtualReach):
            self.reach.forget()
        # The world is spent: its parts hold its bound methods (the reach, the walks, the
        # policy's drivers), so it lets go of all of them.
        vars(self).clear()

    def _check_done(self) -> None:
        if (
            self._open_alerts == 0
            and self._alerts_to_issue == 0
            and self._walks.under_way == 0
            and not self.done.triggered
        ):
            self.done.succeed()

    # -- results ------------------------------------------------------------------------------

    def records(self) -> list[RecipientRecord]:
        return [r for a in self.alerts for r in self.tracker.records(a.alert_id)]

    def risk_point_records(self) -> list[RiskPointRecord]:
        return [r for a in self.alerts for r in self.tracker.risk_point_records(a.alert_id)]

    def acknowledged_share(self) -> float:
        targeted = sum(a.recipients for a in self.alerts)
        if not targeted:
            return 0.0
        pending = sum(self.tracker.pending(a.alert_id) for a in self.alerts)
        flagged = sum(v for k, v in self.tracker.counters.items() if k.startswith("flagged_"))
        return (targeted - pending - flagged) / targeted


def _granted_at(stamp: list[object], requested_s: float, granted_s: float) -> None:
    stamp[2] = granted_s
