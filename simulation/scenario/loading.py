"""Loading a scenario file: YAML with bounds, validation, and every problem reported with its path.

Loading is one function, `load_scenario`, which either returns a validated, frozen `Scenario`
or raises `ScenarioError` carrying *all* problems found, each as
`{file}: {field path}: expected ..., got ...`. Nothing runs before a scenario has loaded cleanly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from dispatcher.errors import AlertsimError
from dispatcher.wire.messages import Alert
from simulation.inputs import (
    MAX_DEPTH,
    FastStrictLoader,
    InputError,
    StrictLoader,
    confine,
    decode_text,
    read_bounded,
    strict_load,
    yaml_problem,
)
from simulation.rainfall.readings import Provenance
from simulation.scenario.distributions import Frozen
from simulation.scenario.provenance import (
    ParameterProvenance,
    ProvenanceSpec,
    SourceList,
    attach,
    source_list_problems,
)
from simulation.scenario.schema import Scenario
from simulation.topology.source import TopologyError, TopologySource, load_topology

MAX_SCENARIO_BYTES = 10 * 1024 * 1024
# A YAML alias bomb is small on disk and huge once expanded; refuse documents whose expanded
# node count passes this bound before pydantic ever walks them.
MAX_EXPANDED_NODES = 200_000


class ScenarioError(AlertsimError, ValueError):
    """Every problem found in a scenario file, each naming file, field path, value, expectation."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class LoadedScenario(BaseModel):
    """A validated scenario together with where it came from and the topology it refers to."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    scenario: Scenario
    path: Path
    sha256: str
    topology: TopologySource
    # Where hazard.rainfall_mm came from when the file gave a rainfall_source (else None).
    rainfall: Provenance | None = None
    # Where every parameter's value comes from (the file's `provenance` group), as checked.
    provenance: ParameterProvenance = ParameterProvenance()
    # CAP messages replayed instead of the hazard's warnings (`alertsim run --cap`), by sent time.
    cap_alerts: tuple[Alert, ...] = ()


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards against recursive aliases while we compute
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[key] = min(size, MAX_EXPANDED_NODES + 1)
    return memo[key]


def parse_yaml(text: str, where: str) -> Any:
    """Strictly load YAML, refusing alias bombs; raises ScenarioError naming `where`.

    Duplicate keys, unknown tags and nesting deeper than `MAX_DEPTH` are refused too
    (`simulation.inputs.StrictLoader`), each as one line naming the YAML position. The text is
    scanned once: the composed node is measured, then constructed.
    """
    try:
        return strict_load(text, lambda loader: _construct(loader, where))
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{where}: expected valid YAML, got {yaml_problem(exc)}"]) from None
    except RecursionError:
        raise ScenarioError(
            [f"{where}: expected YAML nested at most {MAX_DEPTH} levels, got deeper (aliases)"]
        ) from None


def _construct(loader: StrictLoader | FastStrictLoader, where: str) -> Any:
    node = loader.get_single_node()
    if node is None:
        raise ScenarioError([f"{where}: expected a mapping of scenario fields, got an empty file"])
    try:
        expanded = _expanded_size(node, {})
    except RecursionError:
        expanded = MAX_EXPANDED_NODES + 1  # aliases nested past the interpreter's limit
    if expanded > MAX_EXPANDED_NODES:
        raise ScenarioError(
            [
                f"{where}: expected at most {MAX_EXPANDED_NODES:,} YAML nodes once aliases are "
                "expanded, got more (an alias bomb?)"
            ]
        )
    return loader.construct_document(node)


def format_validation_error(where: str, exc: ValidationError) -> list[str]:
    """One line per pydantic error: `{where}: {path}: {what was expected}, got {value!r}`."""
    lines = []
    for err in exc.errors(include_url=False):
        path = _dotted(err["loc"])
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if err["type"] == "missing":
            lines.append(f"{where}: {path}: expected this field, got nothing (field required)")
        elif err["type"] == "extra_forbidden":
            lines.append(f"{where}: {path}: expected no such field, got {err['input']!r}")
        elif "got" in message:
            lines.append(f"{where}: {path}: {message}")
        else:
            found = _short(err.get("input"))
            lines.append(f"{where}: {path}: expected {_lower_first(message)}, got {found}")
    return lines


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = "scenario"
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("constant", "uniform", "exponential", "lognormal", "empirical"):
            continue  # discriminator tags are noise in a path a planner reads
        else:
            out += f".{part}"
    return out


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _lower_first(message: str) -> str:
    message = message.removeprefix("Input should be ").removeprefix("Input ")
    return message[:1].lower() + message[1:]


def read_yaml_file(path: Path) -> Any:
    """A YAML file a user names (`--levers`, `--params`): bounded, a regular file, strict YAML.

    Read like the scenario itself, so `/dev/zero` or a huge file is refused at once; ScenarioError
    with one line naming the file on any problem.
    """
    where = str(path)
    try:
        text = decode_text(read_bounded(path, MAX_SCENARIO_BYTES), where)
    except InputError as exc:
        raise ScenarioError([f"{where}: {exc}"]) from None
    return parse_yaml(text, where)


def load_scenario(path: str | Path, *, roots: Sequence[Path] | None = None) -> LoadedScenario:
    """Read, parse and validate a scenario file; raise ScenarioError with every problem found.

    With `roots` (what `alertsim serve` passes), every file the scenario names (topology,
    boundaries, rainfall) must resolve inside one of them; without, any path is read.
    """
    import hashlib

    path = Path(path)
    where = str(path)
    try:
        raw_bytes = read_bounded(path, MAX_SCENARIO_BYTES)
        text = decode_text(raw_bytes, where)
    except InputError as exc:
        raise ScenarioError([f"{where}: {exc}"]) from None
    data = parse_yaml(text, where)
    if not isinstance(data, dict):
        raise ScenarioError(
            [f"{where}: expected a mapping of scenario fields, got {type(data).__name__}"]
        )

    data = dict(data)
    raw_provenance = data.pop("provenance", None)  # not a model parameter: checked below
    errors: list[str] = []
    topology: TopologySource | None = None
    context: dict[str, Any] = {}
    topo_field = data.get("topology")
    if isinstance(topo_field, dict) and isinstance(topo_field.get("path"), str):
        try:
            topology = _topology(path, topo_field["path"], roots)
            context["district_codes"] = {d.code for d in topology.districts}
        except (TopologyError, InputError) as exc:
            errors.append(f"{where}: scenario.topology.path: {exc}")
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        errors.extend(format_validation_error(where, exc))
    if scenario is not None and topology is not None:
        errors.extend(_cross_checks(where, scenario))
        errors.extend(_confined_data(where, path, scenario, roots))
    if errors or scenario is None or topology is None:
        raise ScenarioError(errors or [f"{where}: expected a valid scenario"])
    provenance, problems = _provenance(where, path, raw_provenance, scenario, roots)
    if problems:
        raise ScenarioError(problems)
    from simulation.scenario.geodata import load_geodata

    scenario, rainfall, problems = load_geodata(where, path, scenario, topology)
    scenario = _with_interarrivals(where, path, scenario, problems, roots)
    if problems:
        raise ScenarioError(problems)
    return LoadedScenario(
        scenario=scenario,
        path=path,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        topology=topology,
        rainfall=rainfall,
        provenance=provenance,
    )


def _topology(path: Path, written: str, roots: Sequence[Path] | None) -> TopologySource:
    """The topology a scenario names, confined to `roots`; its boundaries file too."""
    topo_path = confine(path.parent / written, roots, shown=written)
    topology = load_topology(topo_path)
    if topology.boundaries is not None:
        try:
            confine(topology.boundaries, roots, shown=topology.boundaries.name)
        except InputError as exc:
            raise InputError(f"boundaries: {exc}") from None
    return topology


def _confined_data(
    where: str, path: Path, scenario: Scenario, roots: Sequence[Path] | None
) -> list[str]:
    """The rainfall source and alert area files: regular files (never a device), inside
    `roots` when given."""
    problems = _confined_areas(where, path, scenario, roots)
    source = scenario.hazard.rainfall_source
    if source is None:
        return problems
    field = f"{where}: scenario.hazard.rainfall_source.path"
    try:
        resolved = confine(path.parent / source.path, roots, shown=str(source.path))
    except InputError as exc:
        return [f"{field}: {exc}"]
    if resolved.exists() and not resolved.is_file():
        return [f"{field}: expected a regular file, got {str(source.path)!r} (a device or folder)"]
    return problems


def _confined_areas(
    where: str, path: Path, scenario: Scenario, roots: Sequence[Path] | None
) -> list[str]:
    area = scenario.hazard.areas
    problems = []
    for i, name in enumerate(area.files if area is not None else []):
        try:
            confine(path.parent / name, roots, shown=name)
        except InputError as exc:
            problems.append(f"{where}: scenario.hazard.areas.files[{i}]: {exc}")
    return problems


def _with_interarrivals(
    where: str, path: Path, scenario: Scenario, problems: list[str], roots: Sequence[Path] | None
) -> Scenario:
    """Read each background stream's `interarrival_csv` into its `interarrival_s`."""
    from simulation.scenario.background import read_interarrivals

    tiers: dict[str, Any] = {}
    for tier in ("municipal", "district", "town"):
        settings = getattr(scenario.tiers, tier)
        streams = list(settings.background)
        if all(stream.interarrival_csv is None for stream in streams):
            continue
        for i, stream in enumerate(streams):
            if stream.interarrival_csv is None:
                continue
            try:
                shown = str(stream.interarrival_csv)
                csv_path = confine(path.parent / stream.interarrival_csv, roots, shown=shown)
                values = read_interarrivals(csv_path)
            except ValueError as exc:  # InputError is a ValueError too
                problems.append(
                    f"{where}: scenario.tiers.{tier}.background[{i}].interarrival_csv: "
                    f"{stream.interarrival_csv}: {exc}"
                )
                continue
            streams[i] = stream.model_copy(update={"interarrival_s": values})
        tiers[tier] = settings.model_copy(update={"background": streams})
    if not tiers:
        return scenario
    return scenario.model_copy(update={"tiers": scenario.tiers.model_copy(update=tiers)})


class _WithProvenance(Frozen):
    provenance: ProvenanceSpec


def _provenance(
    where: str, path: Path, raw: Any, scenario: Scenario, roots: Sequence[Path] | None
) -> tuple[ParameterProvenance, list[str]]:
    """The scenario's `provenance` group checked against its fields and its source list."""
    data = scenario.model_dump(mode="json")
    if raw is None:
        return attach(None, None, None, data)
    try:
        spec = _WithProvenance.model_validate({"provenance": raw}).provenance
    except ValidationError as exc:
        return ParameterProvenance(), format_validation_error(where, exc)
    field = f"{where}: scenario.provenance.sources"
    try:
        sources_path = confine(path.parent / spec.sources, roots, shown=spec.sources)
        raw_bytes = read_bounded(sources_path, MAX_SCENARIO_BYTES, shown=spec.sources)
        text = decode_text(raw_bytes, spec.sources)
    except InputError as exc:
        return ParameterProvenance(), [f"{field}: {exc}"]
    try:
        sources = SourceList.model_validate(parse_yaml(text, spec.sources))
    except ScenarioError as exc:
        return ParameterProvenance(), [f"{field}: {line}" for line in exc.errors]
    except ValidationError as exc:
        return ParameterProvenance(), [
            f"{field}: {line}" for line in source_list_problems(spec.sources, exc)
        ]
    provenance, problems = attach(spec, sources, spec.sources, data)
    return provenance, [f"{where}: {line}" for line in problems]


def _cross_checks(where: str, scenario: Scenario) -> list[str]:
    errors = []
    unknown = sorted(
        code
        for code in scenario.hazard.outage.districts
        if scenario.topology.districts is not None and code not in scenario.topology.districts
    )
    if unknown:
        errors.append(
            f"{where}: scenario.hazard.outage.districts: expected districts included in "
            f"topology.districts, got {unknown!r}"
        )
    return errors
