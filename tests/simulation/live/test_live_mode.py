"""Live mode over a real mosquitto: completeness, interop, broker restart, bad input, agreement."""

from __future__ import annotations

import asyncio
import bisect
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatcher.transport import MemoryBroker, MemoryTransport, Message
from dispatcher.wire.messages import decode_alert
from simulation.experiment.virtual import build_city, run_virtual
from simulation.live.driver import LiveDriver
from simulation.live.keys import init_keys
from simulation.live.run import run_live, run_live_async
from simulation.live.swarm import Swarm
from simulation.scenario import load_scenario
from tests.support.broker import Broker
from tests.support.scenarios import load_live_town
from tests.support.waiting import eventually, wait_until

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ROOT / "scenarios" / "smoke-one-town.yaml"
DISTRICT = Path(__file__).with_name("live-district.yaml")
# Model seconds per wall second of the agreement run (~80 s wall at 12). At 30 this 2-core
# machine cannot carry the towns' bursts: the swarm's reads of a burst take a p90 of ~0.5 s
# wall, 15 model seconds, and KS grows to 0.07. On a quiet machine 0.015 and 0.012 at 15
# (0.017 at 12); on one running at half that speed (other tenants), 15 failed 3 runs of 9
# (0.052 and 0.060 where shown; on the code of a session before too) and 12 passed 3 of 3:
# every wall second a hop waits counts a fifth fewer model seconds.
AGREEMENT_SPEED = 12.0


# What mosquitto_sub reads at most: room for a person's own alert after the district's relay,
# its duty team's four alerts, the town's relay and their resends (at 1000x a relay is resent
# after 15 ms wall, several times over on a loaded machine).
FIRST_MESSAGES = 64


def _ended(result_records: list) -> tuple[int, int, int]:  # type: ignore[type-arg]
    acked = sum(r.acked_at_s is not None for r in result_records)
    flagged = sum(r.flag is not None for r in result_records)
    return len(result_records), acked, flagged


def test_one_town_live_run_ends_everyone_and_counts_agree(
    mosquitto: Broker, tmp_path: Path
) -> None:
    outcome = run_live(load_live_town(tmp_path), broker_url=mosquitto.url, speed=400)
    result, swarm = outcome.result, outcome.swarm
    assert swarm is not None
    assert result.mode == "live"
    grid = [r for r in result.records if r.tier == "grid"]
    assert grid
    for record in grid:
        assert (record.acked_at_s is not None) != (record.flag is not None), record
    assert result.transport["delivered"] == swarm.received
    assert result.transport["published"] == swarm.received + result.transport["lost"]
    assert result.transport["acknowledged"] == swarm.acknowledged
    assert outcome.live["driver_lag_max_ms"] >= outcome.live["driver_lag_p99_ms"] >= 0
    # municipal -> district -> the town: both relays went through the broker and came back; at
    # 400x the 15 s resend is 37 ms of wall time, so a slow hop may have sent a copy again
    assert result.protocol["relays_sent"] == result.protocol["relays_confirmed"] == 2
    resent = result.protocol.get("relays_resent", 0)
    assert outcome.live["relays_published"] == 2 + resent
    assert 2 <= outcome.live["relays_received"] <= 2 + resent
    assert result.transport["lost"] == 0  # relays are not counted as alerts the swarm missed
    relayed = next(r for r in result.records if r.tier == "grid")
    assert relayed.relayed_town_at_s is not None
    assert relayed.relayed_district_at_s is not None
    assert relayed.relayed_town_at_s > relayed.relayed_district_at_s


async def test_mosquitto_clients_receive_alerts_and_their_ack_is_counted(
    mosquitto: Broker, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """No swarm at all: mosquitto_sub is the responder, and the README's mosquitto_pub acks."""
    sub_bin, pub_bin = shutil.which("mosquitto_sub"), shutil.which("mosquitto_pub")
    assert sub_bin is not None, "mosquitto_sub missing: make test installs mosquitto-clients"
    assert pub_bin is not None
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    live = readme[readme.index("## Live mode") :]
    example = re.search(r"```sh\n(mosquitto_pub .*?)```", live, re.S)
    assert example is not None, "README: Live mode needs a ```sh mosquitto_pub example"
    command = example.group(1).replace("-p 1883", f"-p {mosquitto.port}")
    # -d: mosquitto_sub also prints its protocol steps ("Client ... received SUBACK",
    # "Subscribed (mid: 1): 1"), so the run starts once it is subscribed, not after a guess;
    # stdbuf (coreutils) line-buffers them, as mosquitto_sub flushes only its messages.
    stdbuf = shutil.which("stdbuf")
    assert stdbuf is not None, "stdbuf missing: it comes with coreutils"
    sub = await asyncio.create_subprocess_exec(
        stdbuf, "-oL", sub_bin, "-d",
        "-h", mosquitto.host, "-p", str(mosquitto.port), "-V", "5", "-q", "1",
        "-t", "alertsim/v1/alert/#", "-C", str(FIRST_MESSAGES), "-F", "%t %p",
        stdout=subprocess.PIPE,
    )  # fmt: skip
    # Relays resent under load may come first, so it takes up to FIRST_MESSAGES; it must not
    # outlive the test.
    request.addfinalizer(lambda: sub.returncode is None and sub.kill())
    sub_out = sub.stdout
    assert sub_out is not None

    async def subscribed() -> None:
        while not (line := await sub_out.readline()).startswith(b"Subscribed"):
            assert line, "mosquitto_sub exited before its subscription was acknowledged"

    await asyncio.wait_for(subscribed(), 10)
    seen: list[str] = []

    def started(driver: LiveDriver) -> None:
        async def respond() -> None:
            assert sub.stdout is not None

            # District duty teams share the district center's topic; answer for a person's own.
            # Relays resent under load add center messages, so read until a person's arrives.
            def personal(line: str) -> bool:
                return not line.split(" ", maxsplit=1)[0].endswith("/center")

            while not any(personal(x) for x in seen):
                line = (await sub.stdout.readline()).decode()
                if not line:
                    return
                if not line.startswith("Client "):  # a protocol step (-d), not a message
                    seen.append(line)
            topic, payload = next(x for x in seen if personal(x)).split(" ", 1)
            alert = decode_alert(payload.strip().encode())
            recipient_id = topic.rsplit("/", 1)[1]
            answered.append(recipient_id)
            env = {
                "ALERT_ID": alert.identifier,
                "RECIPIENT_ID": recipient_id,
                "PATH": "/usr/bin:/bin",
            }
            proc = await asyncio.create_subprocess_shell(command, env=env)
            assert await proc.wait() == 0

        driver_tasks.append(asyncio.create_task(respond()))

    driver_tasks: list[asyncio.Task[None]] = []
    answered: list[str] = []
    loaded = load_scenario(SMOKE)
    outcome = await run_live_async(
        loaded, broker_url=mosquitto.url, speed=1000, local_swarm=False, on_started=started
    )
    await asyncio.gather(*driver_tasks)
    assert answered, "no person's own alert arrived"
    for line in seen:
        topic, payload = line.split(" ", 1)
        assert topic.startswith("alertsim/v1/alert/500101/")
        assert decode_alert(payload.strip().encode()).identifier == outcome.result.alerts[0]["id"]
    assert outcome.result.transport["acknowledged"] == 1
    assert outcome.result.transport["rejected"] == 0
    acked = [r for r in outcome.result.records if r.acked_at_s is not None]
    assert [r.recipient_id for r in acked] == answered


async def test_broker_restart_mid_run_is_survived_and_reported(private_mosquitto: Broker) -> None:
    def started(driver: LiveDriver) -> None:
        async def restart() -> None:
            # Mid-run: alerts are out and acknowledgements are coming back.
            await eventually(
                lambda: driver.counters.acknowledged > 0, "the first acknowledgement", timeout_s=30
            )
            failures = driver.transport.stats.connect_failures
            await asyncio.to_thread(private_mosquitto.kill)
            # Down until the driver has tried to reconnect and found nobody there.
            await eventually(
                lambda: driver.transport.stats.connect_failures > failures,
                "the driver to fail a reconnect to the killed broker",
            )
            await asyncio.to_thread(private_mosquitto.start)

        tasks.append(asyncio.create_task(restart()))

    tasks: list[asyncio.Task[None]] = []
    outcome = await run_live_async(
        load_scenario(SMOKE), broker_url=private_mosquitto.url, speed=400, on_started=started
    )
    await asyncio.gather(*tasks)
    transport = outcome.result.transport
    assert transport["reconnects"] >= 2  # the driver and at least one swarm connection
    assert {"lost", "duplicates", "republished"} <= transport.keys()
    assert transport["lost"] == transport["published"] - transport["delivered"]
    for record in outcome.result.records:
        assert (record.acked_at_s is not None) != (record.flag is not None), record


async def test_malformed_payloads_and_topics_are_rejected_and_counted() -> None:
    hub = MemoryBroker()
    loaded = load_scenario(SMOKE)
    swarm = Swarm(loaded.scenario, build_city(loaded), lambda cid: MemoryTransport(hub))
    await swarm.start()
    driver_side = MemoryTransport(hub)
    await driver_side.start()
    town = swarm.connections[-1]
    rid = next(iter(town.responders))
    member_topic = f"alertsim/v1/alert/500101/500101001/{rid}"
    for payload in (b"", b"not json", b'{"identifier": 1}', b"\xff\xfe"):
        await driver_side.publish(Message(member_topic, payload))
    await driver_side.flush()
    await eventually(
        lambda: sum(swarm.counters.rejected.values()) >= 4,
        "the swarm to reject the four bad payloads",
        state=lambda: swarm.counters.rejected,
    )
    await swarm.stop()
    rejected = swarm.counters.rejected
    assert sum(rejected.values()) == 4
    assert rejected["payload_empty"] == 1
    assert rejected["payload_not_utf8"] == 1
    assert swarm.counters.received == 0

    driver = LiveDriver(MemoryTransport(hub), speed=10)
    for topic, payload in (
        ("alertsim/v1/ack/a-1", b"{}"),  # too few levels
        ("alertsim/v1/bogus/a-1/r-1", b"{}"),
        ("alertsim/v1/alert/500101/center", b"{}"),  # an alert topic, not an ack
        ("alertsim/v1/ack/a-1/r-1", b"{not json"),
        ("alertsim/v1/ack/a-1/r-1", b'{"alertId": "a-1"}'),
    ):
        driver.receive(Message(topic, payload))
    assert sum(driver.counters.rejected.values()) == 5
    assert driver.counters.rejected["topic_unknown_kind"] == 1
    assert driver.counters.rejected["payload_schema"] == 1


def _ks_distance(a: list[float], b: list[float]) -> float:
    a, b = sorted(a), sorted(b)
    return max(
        abs(bisect.bisect_right(a, x) / len(a) - bisect.bisect_right(b, x) / len(b)) for x in a + b
    )


def test_ks_distance_of_identical_and_shifted_samples() -> None:
    sample = [float(i) for i in range(100)]
    assert _ks_distance(sample, sample) == 0.0
    assert _ks_distance(sample, [x + 50 for x in sample]) == pytest.approx(0.5)


@pytest.fixture
def district_swarm(mosquitto: Broker, tmp_path: Path) -> Iterator[tuple[float, Path]]:
    """`alertsim swarm` for the district scenario in its own process; yields the speed.

    In its own process, as `--external-swarm` runs it: in the driver's process the swarm's
    receipts share one core with the publishes, and a town's burst of 100 alerts then waits
    about 250 ms wall for its hop, 3 model seconds at speed 12.
    """
    ready = tmp_path / "swarm.ready"
    keys = tmp_path / "keys"
    init_keys(load_scenario(DISTRICT), keys)
    command = [sys.executable, "-c", "from simulation.cli import app; app()", "swarm"]
    command += [str(DISTRICT), "--broker", mosquitto.url, "--speed", f"{AGREEMENT_SPEED:g}"]
    command += ["--ready-file", str(ready), "--keys", str(keys)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def swarm_ready() -> bool:
        assert proc.poll() is None, f"alertsim swarm exited: {proc.stderr.read()!r}"  # type: ignore[union-attr]
        return ready.exists()

    try:
        wait_until(swarm_ready, "alertsim swarm to write its ready file", timeout_s=30)
        yield AGREEMENT_SPEED, keys
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
@pytest.mark.solo  # its KS bound measures wall-clock pacing: run alone, not beside other tests
def test_live_notification_latency_agrees_with_virtual(
    mosquitto: Broker, district_swarm: tuple[float, Path]
) -> None:
    """KS distance of live and virtual notification latency (model seconds) under 0.05.

    Was 0.235 at speed 20 (and 0.755 at speed 50): the swarm started reading when a message
    arrived but the driver stamped deliveries and presses when their news arrived, each wall
    second of queueing counting `speed` model seconds, and late acks set off escalations.
    Then 0.020-0.037 at speed 20 on a quiet machine (0.18 at speed 40): every 100 ms of real hop
    is 2 model seconds at speed 20. Responders now draw their behaviour per responder in both
    modes, and the run is paced at speed 12 (0.017; 0.013 at speed 10) with a shorter
    door-knock rung, so that it takes less wall time than before. With the driver's connection
    on its own thread and each signed payload checked once per swarm connection: 0.015 and 0.012
    at speed 15; at 12 again since a day the machine ran at half its speed (see AGREEMENT_SPEED).
    """
    loaded = load_scenario(DISTRICT)
    virtual = run_virtual(loaded)
    speed, keys = district_swarm
    # Signed by the issuing centers and verified by the swarm, as live runs are by default.
    live = run_live(loaded, broker_url=mosquitto.url, speed=speed, local_swarm=False, keys=keys)
    v = [r.latency_s for r in virtual.records if r.latency_s is not None]
    lv = [r.latency_s for r in live.result.records if r.latency_s is not None]
    # 1,900 of 2,102 acknowledge in virtual time (1,901 before calls read their script aloud)
    assert len(v) > 1850
    assert len(lv) > 1850
    assert live.result.transport["delivered"] == live.result.transport["published"]
    assert _ks_distance(v, lv) < 0.05
