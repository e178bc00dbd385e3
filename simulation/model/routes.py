"""Responders walking their routes to risk points: one event per point reached.

A route is a small object with a bound method for its next arrival, not a closure that
schedules itself: a closure calling itself is a reference cycle, and the 121,000 routes of a
city run left 2.4 million objects for the garbage collector (7 s of a city run) where
reference counting now frees each route the moment it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from dispatcher.core.commands import Dispatch
from dispatcher.core.events import Event, make_on_scene
from simulation.behaviour import Sampler
from simulation.hazards import HazardModel
from simulation.model.clock import Environment
from simulation.topology.city import WalkingLegs

MIN_SPEED_M_S = 0.05  # a flooded street slows walkers down, never to a standstill


class Walks:
    """Every route under way; `start` one per `Dispatch`, `finished` is told as each ends."""

    def __init__(
        self,
        env: Environment,
        hazard: HazardModel,
        legs: WalkingLegs | None,
        samplers: tuple[Sampler, Sampler, Sampler],
        handle: Callable[[Event], None],
        finished: Callable[[], None],
        called_off: Container[tuple[str, str]] = frozenset(),
    ) -> None:
        self.env = env
        self.hazard = hazard
        self.legs = legs  # topology.geometry: legs measured on the map, else a drawn distance
        self.depart_s, self.speed_m_s, self.distance_m = samplers
        self.handle = handle
        self.finished = finished
        self.under_way = 0
        # (alert, town) a Cancel withdrew: a walk there reaches no further risk point
        self.called_off = called_off

    def start(self, command: Dispatch) -> None:
        """Set off (after a `depart_s` draw) along the command's route."""
        self.under_way += 1
        route = _Route(self, command)
        self.env.later(self.depart_s() + route.leg_s(0), route.arrive)


class _Route:
    __slots__ = ("command", "index", "walks")

    def __init__(self, walks: Walks, command: Dispatch) -> None:
        self.walks = walks
        self.command = command
        self.index = 0  # the risk point walked to now

    def leg_s(self, index: int) -> float:
        walks, command = self.walks, self.command
        slowdown = walks.hazard.slowdown(command.town[:6], walks.env.now)
        speed = max(walks.speed_m_s() * (1.0 - slowdown), MIN_SPEED_M_S)
        if walks.legs is None:
            return walks.distance_m() / speed
        return walks.legs.leg_m(command.responder_id, command.town, command.risk_points, index) / (
            speed
        )

    def arrive(self, _: object) -> None:
        walks, command, index = self.walks, self.command, self.index
        if walks.called_off and (command.alert_id, command.town) in walks.called_off:
            index = len(command.risk_points) - 1  # called off: the route ends here
        else:
            walks.handle(
                make_on_scene(command.alert_id, command.risk_points[index], command.responder_id)
            )
        self.index = index = index + 1
        if index < len(command.risk_points):
            walks.env.later(self.leg_s(index), self.arrive)
        else:
            walks.under_way -= 1
            walks.finished()
