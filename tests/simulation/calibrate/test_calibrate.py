"""`alertsim calibrate`: known parameters are recovered, censoring is honoured, bad logs refused."""

from __future__ import annotations

import csv
import gzip
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from simulation.calibrate.fit import Durations, fit_lognormal
from simulation.calibrate.hops import Calibration, calibrate_log
from simulation.calibrate.logs import DrillLogError, read_drill_log
from simulation.cli import app
from simulation.experiment.virtual import run_virtual
from simulation.report.records import write_records
from simulation.scenario import LoadedScenario, load_scenario
from tests.support.scenarios import ROOT, TOPOLOGY

Z90 = 1.2815515655446004


def lognormal(median: float, p90: float) -> dict[str, Any]:
    return {"kind": "lognormal", "median": median, "p90": p90}


def draw(rng: random.Random, median: float, p90: float) -> float:
    return math.exp(rng.gauss(math.log(median), math.log(p90 / median) / Z90))


# -- the fit itself ------------------------------------------------------------------------------


def test_censored_durations_are_not_read_as_short_ones() -> None:
    rng = random.Random(3)
    times = [draw(rng, 60, 240) for _ in range(4000)]
    # watching stopped at 90 s: the slower half is only known to be longer than that
    observed = tuple(t for t in times if t <= 90)
    censored = tuple(90.0 for t in times if t > 90)
    fit = fit_lognormal({"all": Durations(observed, censored)})
    naive = fit_lognormal({"all": Durations(observed)})
    assert fit.median == pytest.approx(60, rel=0.06)
    assert fit.p90 == pytest.approx(240, rel=0.1)
    assert fit.median_ci[0] < 60 < fit.median_ci[1]
    assert naive.median < 45  # what ignoring the censored would have said


def test_missed_share_and_reading_time_are_told_apart() -> None:
    rng = random.Random(5)
    groups = {}
    for channel, missed in (("app_push", 0.2), ("sms", 0.05)):
        observed, censored = [], []
        for _ in range(3000):
            watched = rng.uniform(60, 900)
            read = math.inf if rng.random() < missed else draw(rng, 45, 300)
            (observed if read <= watched else censored).append(min(read, watched))
        groups[channel] = Durations(tuple(observed), tuple(censored))
    fit = fit_lognormal(groups, cure=True)
    assert fit.median == pytest.approx(45, rel=0.08)
    assert fit.p90 == pytest.approx(300, rel=0.12)
    assert fit.missed["app_push"].value == pytest.approx(0.2, abs=0.03)
    assert fit.missed["sms"].value == pytest.approx(0.05, abs=0.03)
    assert fit.missed["app_push"].low < 0.2 < fit.missed["app_push"].high
    assert fit.ks < 0.03


# -- round trip through the model -----------------------------------------------------------------


KNOWN = {
    "behaviour.read_s": (90.0, 400.0),
    "behaviour.ack_s": (12.0, 40.0),
    "tiers.town.processing_s": (70.0, 200.0),
}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedScenario, Path]:
    """The shipped storm at scale 0.02 with known hops, run once; its records written."""
    directory = tmp_path_factory.mktemp("calibrate")
    data = yaml.safe_load((ROOT / "scenarios" / "chongqing-record-rainfall.yaml").read_text())
    data["topology"].update(path=str(TOPOLOGY), scale=0.02)
    data["provenance"]["sources"] = str(ROOT / "config" / "sources.yaml")
    data["behaviour"]["read_s"] = lognormal(*KNOWN["behaviour.read_s"])
    data["behaviour"]["ack_s"] = lognormal(*KNOWN["behaviour.ack_s"])
    data["tiers"]["town"]["processing_s"] = lognormal(*KNOWN["tiers.town.processing_s"])
    data["channels"]["app_push"]["missed"] = 0.2
    path = directory / "known.yaml"
    path.write_text(yaml.safe_dump(data))
    loaded = load_scenario(path)
    records = directory / "records.csv.gz"
    write_records(run_virtual(loaded).records, records)
    return loaded, records


def _calibrate(loaded: LoadedScenario, records: Path) -> Calibration:
    ladder = loaded.scenario.escalation
    log = read_drill_log(records, first_rung=ladder.ladder[0], first_timeout_s=ladder.timeout_s[0])
    return calibrate_log(log, loaded.scenario)


def test_a_run_with_known_hops_gives_them_back(simulated: tuple[LoadedScenario, Path]) -> None:
    calibration = _calibrate(*simulated)
    hops = {hop.path: hop for hop in calibration.hops}
    for path, (median, p90) in KNOWN.items():
        fit = hops[path].lognormal
        assert fit is not None, path
        assert fit.median == pytest.approx(median, rel=0.1), path
        assert fit.p90 == pytest.approx(p90, rel=0.15), path
    missed = hops["channels.app_push.missed"].share
    assert missed is not None
    assert missed.value == pytest.approx(0.2, abs=0.03)
    delay = hops["channels.app_push.delay_s"].lognormal
    assert delay is not None
    assert delay.median == pytest.approx(1.5, rel=0.15)  # plus the network on the way


def test_what_a_records_log_cannot_tell_is_listed(simulated: tuple[LoadedScenario, Path]) -> None:
    calibration = _calibrate(*simulated)
    why = dict(calibration.not_fitted)
    # one municipal center processed one alert: one observation is not a distribution
    assert why["tiers.municipal.processing_s"].startswith("1 observed")
    # sms is seen only when answered: its delay would be biased short
    assert "only when answered" in why["channels.sms.delay_s"]
    assert (
        "staff" in why["channels.voice_call.delay_s"]
        or "answered" in why["channels.voice_call.delay_s"]
    )
    # outages are modelled apart: the push failure seen includes them and is not applied
    failure = next(h for h in calibration.hops if h.path == "channels.app_push.failure")
    assert not failure.applied
    assert "channels.app_push.failure" not in calibration.overlay()


def test_the_command_writes_a_scenario_that_runs(
    simulated: tuple[LoadedScenario, Path], tmp_path: Path
) -> None:
    loaded, records = simulated
    out = tmp_path / "fit"
    args = ["calibrate", str(records), "--scenario", str(loaded.path), "--out", str(out), "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "calibration.json").read_text())
    paths = [hop["path"] for hop in report["hops"]]
    assert "behaviour.read_s" in paths
    assert all("interval95" in hop for hop in report["hops"])
    overlay = yaml.safe_load((out / "overlay.yaml").read_text())
    calibrated = load_scenario(out / "scenario.yaml")  # relative paths still resolve
    assert calibrated.scenario.behaviour.read_s.model_dump() == overlay["behaviour.read_s"]
    assert calibrated.scenario.tiers.municipal == loaded.scenario.tiers.municipal
    html = (out / "calibration.html").read_text()
    assert html.count('data-chart="cdf-') == sum(1 for h in report["hops"] if "observed" in h)
    assert "<script" not in html


# -- the minimal attempts log --------------------------------------------------------------------


def _attempts_log(path: Path, rng: random.Random) -> None:
    """A drill: push then sms 120 s later; known delays, failures, missed shares and reading."""
    rows = [["recipient", "tier", "channel", "sent", "delivered", "read", "acknowledged"]]
    for i in range(3000):
        first_read = math.inf
        attempts = []
        for channel, sent, median, p90, failure, missed in (
            ("app_push", 0.0, 2.0, 6.0, 0.05, 0.2),
            ("sms", 120.0, 10.0, 60.0, 0.1, 0.1),
        ):
            delivered = None if rng.random() < failure else sent + draw(rng, median, p90)
            read = None
            if delivered is not None and rng.random() >= missed:
                read = delivered + draw(rng, 45, 300)
                first_read = min(first_read, read)
            attempts.append([channel, sent, delivered, read])
        for channel, sent, delivered, noticed in attempts:
            # read the other one first: this one was never opened
            read = None if noticed is None or noticed > first_read else noticed
            acked = None if read is None else read + draw(rng, 8, 30)
            rows.append(
                [
                    f"m{i}",
                    "grid",
                    channel,
                    *("" if v is None else f"{v:.3f}" for v in (sent, delivered, read, acked)),
                ]
            )
    with gzip.open(path, "wt", newline="") as file:
        csv.writer(file).writerows(rows)


def test_an_attempts_log_fits_every_channel(
    simulated: tuple[LoadedScenario, Path], tmp_path: Path
) -> None:
    loaded, _ = simulated
    path = tmp_path / "drill.csv.gz"
    _attempts_log(path, random.Random(11))
    log = read_drill_log(path, first_rung="app_push", first_timeout_s=120)
    hops = {hop.path: hop for hop in calibrate_log(log, loaded.scenario).hops}
    assert hops["channels.sms.failure"].share.value == pytest.approx(0.1, abs=0.02)  # type: ignore[union-attr]
    assert hops["channels.sms.missed"].share.value == pytest.approx(0.1, abs=0.04)  # type: ignore[union-attr]
    assert hops["channels.app_push.missed"].share.value == pytest.approx(0.2, abs=0.03)  # type: ignore[union-attr]
    read = hops["behaviour.read_s"].lognormal
    assert read is not None
    assert read.median == pytest.approx(45, rel=0.1)
    sms = hops["channels.sms.delay_s"].lognormal
    assert sms is not None
    assert sms.median == pytest.approx(10, rel=0.1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n", "header: expected the records.csv.gz columns or the attempts columns"),
        ("recipient,tier,channel,sent,delivered,read,acknowledged\n", "at least one row"),
        (
            "recipient,tier,channel,sent,delivered,read,acknowledged\nm1,grid,sms,0,soon,,\n",
            "row 2, column 'delivered': expected seconds or an ISO 8601 time, got 'soon'",
        ),
        (
            "recipient,tier,channel,sent,delivered,read,acknowledged\nm1,grid,sms,10,5,,\n",
            "row 2, column 'delivered': expected a time at or after 'sent' (10), got 5",
        ),
        (
            "recipient,tier,channel,sent,delivered,read,acknowledged\n"
            "m1,grid,sms,2025-07-20T08:00:00,,,\n",
            "row 2, column 'sent': expected a time zone",
        ),
        (
            "recipient,tier,channel,sent,delivered,read,acknowledged\nm1,grid,sms,0,,3,\n",
            "row 2, column 'delivered': expected a time when 'read' is given",
        ),
        ("recipient,tier,channel,sent,delivered,read,acknowledged\nm1,grid\n", "row 2: expected 7"),
    ],
)
def test_a_log_it_cannot_use_is_refused_naming_row_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "drill.csv"
    path.write_text(text)
    with pytest.raises(DrillLogError, match="^" + str(path).replace(".", r"\.")) as caught:
        read_drill_log(path, first_rung="app_push", first_timeout_s=120)
    assert message in str(caught.value)
    result = CliRunner().invoke(
        app,
        ["calibrate", str(path), "--scenario", str(ROOT / "scenarios" / "smoke-one-town.yaml")],
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_device_is_refused_before_it_is_read() -> None:
    with pytest.raises(DrillLogError, match=r"^/dev/zero: expected a regular file"):
        read_drill_log(Path("/dev/zero"), first_rung="app_push", first_timeout_s=120)
