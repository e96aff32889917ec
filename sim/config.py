"""Typed configuration: dataclass schemas for every ``conf/`` group, range-checked at compose time.

Hydra composes the YAML files in ``conf/``; :func:`from_dict` turns the result into the typed
:class:`RunConfig`, rejecting unknown keys, wrong types and out-of-range values with a one-line
:class:`~sim.errors.SimInputError` that names the key and what is allowed. Notebooks and tests use
:func:`load_config` with Hydra-style overrides.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import SimInputError
from sim.timeline import Timeline, parse_ym

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"

UNIT = (0.0, 1.0)
POS = (0.0, float("inf"))


def _f(lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """A required dataclass field (its value comes from ``conf/``) with an inclusive range."""
    return field(metadata={"range": (lo, hi), "doc": doc})


def _d(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """A dataclass field with a default, an inclusive range and a one-line doc."""
    return field(default=default, metadata={"range": (lo, hi), "doc": doc})


@dataclass
class Logistic:
    """A logistic trend ``lo + (hi - lo) / (1 + exp(-((year - mid_year) / scale_years + spread * z)))``.

    ``z`` is a province's standardized index (see :mod:`sim.drivers`); ``spread`` sets how far
    provinces sit apart on the logit scale.
    """

    lo: float = _f(0.0, 1.0, "level long before mid_year (0-1)")
    hi: float = _f(0.0, 1.0, "saturation level (0-1)")
    mid_year: float = _f(1990.0, 2060.0, "decimal year of the midpoint")
    scale_years: float = _f(0.05, 50.0, "years for one logit unit")
    spread: float = _d(0.0, 0.0, 5.0, "province spread on the logit scale")

    def __post_init__(self) -> None:
        if self.hi < self.lo:
            raise SimInputError(f"hi: {self.hi} is below lo {self.lo}; allowed: lo <= hi")


@dataclass
class PopulationConfig:
    """How the synthetic citizens are built from province tables (see ``conf/population``)."""

    scale: float = _f(1.0, 1e7, "people represented by one agent (1 = one agent per citizen)")
    age_shares: list[float] = _f(0.0, 1.0, "shares of age bands 0-14, 15-34, 35-59, 60+")
    remote_share_of_minority: float = _f(0.0, 1.0, "share of ethnic-minority residents living in remote areas")
    remote_floor_mountain: float = _f(0.0, 1.0, "minimum remote share in mountain-region provinces")
    remote_share_island: float = _f(0.0, 1.0, "remote share added in provinces with island districts")
    skill_median_by_age: list[float] = _f(0.0, 1.0, "median digital skill (0-1) by age band")
    skill_shift_urban: float = _f(-1.0, 1.0, "added to mean skill in urban areas")
    skill_shift_remote: float = _f(-1.0, 1.0, "added to mean skill in remote areas")
    skill_sd_logit: float = _f(0.0, 5.0, "standard deviation of skill around the median, logit scale")
    device_factor_by_age: list[float] = _f(0.0, 3.0, "device ownership relative to adults' level, by age band")
    provinces: list[str] = field(
        default_factory=list, metadata={"doc": "GSO codes to simulate (empty = all 63)", "code_digits": 2}
    )

    def __post_init__(self) -> None:
        for key, n in (("age_shares", 4), ("skill_median_by_age", 4), ("device_factor_by_age", 4)):
            if len(getattr(self, key)) != n:
                raise SimInputError(f"{key}: needs {n} values (age bands 0-14, 15-34, 35-59, 60+)")
        if abs(sum(self.age_shares) - 1.0) > 1e-6:
            raise SimInputError(f"age_shares: sum is {sum(self.age_shares):.4f}; allowed: shares summing to 1")


@dataclass
class DriversConfig:
    """Exogenous trends that move each province's state month by month (baseline, no levers)."""

    electricity_gap_decay_per_year: float = _f(0.0, 5.0, "yearly log-rate at which unelectrified households shrink")
    electricity_gap_ratio_urban: float = _f(0.0, 10.0, "urban unelectrified share relative to rural")
    electricity_gap_ratio_remote: float = _f(1.0, 100.0, "remote unelectrified share relative to rural")
    mobile_urban: float = _f(0.0, 1.0, "mobile broadband signal coverage, urban")
    mobile_rural: float = _f(0.0, 1.0, "mobile broadband signal coverage, rural")
    mobile_remote: Logistic = field()
    fixed_urban: Logistic = field()
    fixed_rural: Logistic = field()
    fixed_remote: Logistic = field()
    device_adult: Logistic = field()
    device_factor_rural: float = _f(0.0, 2.0, "device ownership in rural areas relative to the national level")
    device_factor_remote: float = _f(0.0, 2.0, "device ownership in remote areas relative to the national level")
    device_factor_urban: float = _f(0.0, 2.0, "device ownership in urban areas relative to the national level")
    supply_online: Logistic = field()
    supply_ministries: Logistic = field()
    supply_localities: Logistic = field()
    quality: Logistic = field()
    officials_trained: Logistic = field()
    interoperability: Logistic = field()
    assisted: Logistic = field()
    eid: Logistic = field()
    it_budget_share: float = _f(0.0, 0.2, "share of the local budget spent on IT")


@dataclass
class ParamsConfig:
    """Behavioural and back-office parameters that calibration estimates (``conf/params``)."""

    need_rate_per_year: float = _f(0.0, 24.0, "administrative procedures per adult per year")
    share_needs_ministry: float = _f(0.0, 1.0, "share of citizens' dossiers handled at ministry tier")
    p_innovation: float = _f(0.0, 5.0, "Bass innovation hazard per decision")
    q_imitation: float = _f(0.0, 20.0, "Bass imitation hazard per decision at full local adoption")
    beta_quality: float = _f(-10.0, 10.0, "utility weight of service usability (0-1)")
    beta_ease: float = _f(-10.0, 10.0, "utility weight of digital skill (centred, 0-1 scale)")
    beta_trust: float = _f(-10.0, 10.0, "utility weight of trust (centred, 0-1 scale)")
    beta_eid: float = _f(-10.0, 10.0, "utility gain of holding an activated e-ID")
    beta_ministry: float = _f(-10.0, 10.0, "utility shift for ministry-tier procedures")
    habit_use: float = _f(0.0, 1.0, "probability an adopter goes online again when offered")
    lapse_rate_per_year: float = _f(0.0, 12.0, "rate at which unused habits lapse")
    awareness_base_per_year: float = _f(0.0, 12.0, "yearly rate of becoming aware without peers")
    awareness_social_per_year: float = _f(0.0, 50.0, "awareness rate per unit local adoption")
    awareness_outreach_per_year: float = _f(0.0, 50.0, "awareness rate at full outreach capacity")
    initial_awareness: float = _f(0.0, 1.0, "aware share of adults at the start")
    initial_adopter_share: float = _f(0.0, 1.0, "share of adults with the online habit at the start")
    assisted_max: float = _f(0.0, 1.0, "share of needers without own access served by assisted use at full capacity")
    supply_volume_exponent: float = _f(
        0.05, 1.0, "offered share of dossier volume = offered share of procedures ** this"
    )
    backoffice_lo_ministries: float = _f(
        0.0, 1.0, "P(completed fully online | submitted online), ministries, at zero capacity"
    )
    backoffice_hi_ministries: float = _f(0.0, 1.0, "the same at full capacity")
    backoffice_lo_localities: float = _f(
        0.0, 1.0, "P(completed fully online | submitted online), localities, at zero capacity"
    )
    backoffice_hi_localities: float = _f(0.0, 1.0, "the same at full capacity")
    backoffice_weight_training: float = _f(0.0, 1.0, "weight of trained officials (vs interoperability) in capacity")
    posterior_file: str = _d(
        "", doc="posterior draws (CSV in conf/params/) that ensemble.n_draws samples; empty = none"
    )

    def __post_init__(self) -> None:
        for tier in ("ministries", "localities"):
            lo, hi = getattr(self, f"backoffice_lo_{tier}"), getattr(self, f"backoffice_hi_{tier}")
            if hi < lo:
                raise SimInputError(f"backoffice_hi_{tier}: {hi} is below backoffice_lo_{tier} {lo}; allowed: lo <= hi")


@dataclass
class ScenarioConfig:
    """A planner's scenario: a name and a list of levers (each validated by its own module)."""

    name: str = "baseline"
    description: str = ""
    label: str = _d("", doc="short name in chart legends and notes (default: the name)")
    label_vi: str = _d("", doc="the same in Vietnamese charts (default: label)")
    levers: list[dict] = field(default_factory=list)

    def display(self, lang: str) -> str:
        """The scenario's name in charts of language ``lang``."""
        return scenario_display({"name": self.name, "label": self.label, "label_vi": self.label_vi}, lang)


def scenario_display(scenario: dict, lang: str) -> str:
    """A scenario's name in charts: ``label_vi`` (Vietnamese charts), else ``label``, else the name
    (``scenario`` as in a run manifest's config, so runs made before labels existed show their name)."""
    text = scenario.get("label_vi") if lang == "vi" else ""
    return str(text or scenario.get("label") or scenario.get("name") or "")


@dataclass
class EnsembleConfig:
    """Replicates and parallelism."""

    n_reps: int = _f(1, 100000, "stochastic replicates per parameter draw")
    n_jobs: int = _f(1, 256, "worker processes")
    n_draws: int = _f(0, 100000, "posterior draws (0 = the point parameters in params)")
    p_tolerance: float = _d(
        0.0, 0.0, 0.5, "add runs until every national/tier P(target met) has a 95 % half-width below this (0 = off)"
    )
    max_runs: int = _d(2000, 1, 1000000, "most runs the p_tolerance loop may reach")


@dataclass
class ReportingConfig:
    """Charts and language."""

    lang: str = _d("en", doc="chart language: en or vi")
    figures: bool = _d(True, doc="write PNG charts")
    dpi: int = _d(150, 50, 600, "figure resolution")

    def __post_init__(self) -> None:
        if self.lang not in ("en", "vi"):
            raise SimInputError(f"reporting.lang: '{self.lang}' is not allowed; allowed: en, vi")


@dataclass
class TimelineConfig:
    """Monthly run period."""

    start: str = "2017-01"
    end: str = "2030-12"

    def __post_init__(self) -> None:
        Timeline(self.start, self.end)
        if parse_ym(self.end) - parse_ym(self.start) + 1 > 254:
            raise SimInputError(f"timeline.end: {self.end} gives more than 254 months; allowed: at most 254 months")
        if parse_ym(self.start) < parse_ym("2017-01"):
            raise SimInputError(f"timeline.start: {self.start} is before 2017-01; allowed: 2017-01 or later")


@dataclass
class RunConfig:
    """Root schema of ``python -m sim``."""

    rng_seed: int = _f(0, 2**63 - 1, "random seed")
    timeline: TimelineConfig = field()
    population: PopulationConfig = field()
    drivers: DriversConfig = field()
    params: ParamsConfig = field()
    scenario: ScenarioConfig = field()
    ensemble: EnsembleConfig = field()
    reporting: ReportingConfig = field()
    observed_dir: str = _d("", doc="folder of the observed data (empty = the repository's seeds/)")


def _check_scalar(value: Any, typ: Any, key: str, meta: dict) -> Any:
    if typ is bool:
        if not isinstance(value, bool):
            raise SimInputError(f"{key}: '{value}' is not true/false; allowed: true, false")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise SimInputError(f"{key}: '{value}' is not a whole number")
    elif typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SimInputError(f"{key}: '{value}' is not a number")
        value = float(value)
        if value != value:
            raise SimInputError(f"{key}: NaN is not allowed")
    elif typ is str:
        digits = meta.get("code_digits")
        if digits and isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:0{digits}d}"  # a code written unquoted in YAML (01) arrives as the integer 1
        if not isinstance(value, str):
            raise SimInputError(f"{key}: '{value}' is not text")
        return value
    lo, hi = meta.get("range", (None, None))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise SimInputError(f"{key}: {value} is out of range; allowed: {lo} to {hi}")
    return value


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from plain ``data``, validating keys, types and ranges.

    Raises:
        SimInputError: one line naming the key (dotted path) and what is allowed.
    """
    where = prefix.rstrip(".") or "config"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SimInputError(f"{where}: expected a mapping of keys, got '{data}'")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise SimInputError(f"{prefix}{unknown[0]}: unknown key; allowed in {where}: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        key, typ, meta = f"{prefix}{name}", hints[name], fields[name].metadata
        if dataclasses.is_dataclass(typ):
            kwargs[name] = from_dict(typ, value, key + ".")
            continue
        origin = typing.get_origin(typ)
        if origin in (list, types.GenericAlias) or origin is list:
            (item,) = typing.get_args(typ) or (Any,)
            if not isinstance(value, (list, tuple)):
                raise SimInputError(f"{key}: expected a list, got '{value}'")
            if item is dict:
                kwargs[name] = [dict(v) if isinstance(v, dict) else _bad_item(key, v) for v in value]
            else:
                kwargs[name] = [_check_scalar(v, item, f"{key}[{i}]", meta) for i, v in enumerate(value)]
            continue
        kwargs[name] = _check_scalar(value, typ, key, meta)
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise SimInputError(f"{prefix}{missing[0]}: missing key in {where}; every run needs it (see conf/)")
    try:
        return cls(**kwargs)
    except SimInputError as exc:
        msg = str(exc)
        raise SimInputError(msg if msg.startswith(prefix) or not prefix else prefix + msg) from None


def _bad_item(key: str, value: Any) -> Any:
    raise SimInputError(f"{key}: each entry must be a mapping with a 'kind' key, got '{value}'")


def to_dict(cfg: Any) -> dict:
    """Plain nested dict of a typed config (for manifests and hashing)."""
    return dataclasses.asdict(cfg)


def load_config(overrides: list[str] | None = None, config_name: str = "config") -> RunConfig:
    """Compose ``conf/`` with Hydra-style overrides and return the validated typed config.

    Args:
        overrides: e.g. ``["population=tiny", "rng_seed=7", "ensemble.n_reps=2"]``.
        config_name: root config file in ``conf/`` (without ``.yaml``).

    Raises:
        SimInputError: on unknown keys, groups, options or out-of-range values.
    """
    return from_dict(RunConfig, compose_plain(overrides, config_name))


def compose_plain(overrides: list[str] | None = None, config_name: str = "config") -> dict:
    """Compose ``conf/`` with Hydra (no run directory) and return a plain dict without ``hydra``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=list(overrides or []))
    except Exception as exc:  # Hydra/OmegaConf errors are multi-line: reduce to one line
        line = hydra_error_line(exc, config_name)
        raise SimInputError(_lever_key_line(line, list(overrides or []), config_name)) from None
    finally:
        GlobalHydra.instance().clear()
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain.pop("hydra", None)
    return plain


_LEVER_KEY = re.compile(r"^scenario\.levers\.(\d+)\.(\w+): unknown key ")


def _override_key(override: str) -> str:
    """The key an override sets (``+a.b=1`` -> ``a.b``)."""
    return override.split("=", 1)[0].lstrip("+~")


def _lever_key_line(line: str, overrides: list[str], config_name: str) -> str:
    """Make Hydra's "unknown key" for ``scenario.levers.<i>.<key>`` say what the lever allows.

    Hydra refuses to override a key the scenario's entry does not set, so an override without
    ``+`` fails both for a misspelt key and for a valid one the entry leaves at its default. The
    scenario is composed again without that override to find the entry's kind: a valid key gets
    the hint to add it with ``+``, a misspelt one the lever's keys. Any other line is returned as is.
    """
    match = _LEVER_KEY.match(line)
    if match is None:
        return line
    i, key = int(match.group(1)), match.group(2)
    prefix = f"scenario.levers.{i}.{key}"
    rest = [o for o in overrides if _override_key(o) != prefix]
    try:
        entries = compose_plain(rest, config_name).get("scenario", {}).get("levers") or []
        kind = entries[i]["kind"]
    except (SimInputError, IndexError, KeyError, TypeError, AttributeError):
        return line
    from sim.levers import REGISTRY

    if kind not in REGISTRY:
        return line
    names = sorted(f.name for f in dataclasses.fields(REGISTRY[kind].Params))
    where = f"scenario.levers[{i}].{key}"
    if key in names:
        return f"{where}: not set in this scenario's entry; add it with a leading +, e.g. +{prefix}=... ({kind} lever)"
    return f"{where}: unknown key; allowed: {', '.join(names)} ({kind} lever)"


COMMANDS = {"config": "sim", "plan": "sim.plan", "calibrate": "sim.calibrate"}
"""The command (``python -m <module>``) whose root config is ``conf/<name>.yaml``."""


def cfg_job_command(config_name: str = "config") -> str:
    """The command that prints the resolved root config ``config_name``, e.g. ``python -m sim.plan --cfg job``."""
    return f"python -m {COMMANDS.get(config_name, 'sim')} --cfg job"


def hydra_error_line(exc: BaseException, config_name: str = "config") -> str:
    """Reduce a Hydra/OmegaConf composition error to one line naming the key; a hint to list the
    keys names the command of the root config ``config_name`` (:data:`COMMANDS`)."""
    text = str(exc)
    if text.startswith("Error merging override") and exc.__cause__ is not None:
        text = str(exc.__cause__)  # the merge's own error names the key
        first = text.strip().splitlines()[0] if text.strip() else type(exc.__cause__).__name__
        key = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if "full_key:" in ln), "")
        if "index out of range" in first:
            return (
                f"{key or 'override'}: no such list entry; allowed: the entries the config has "
                f"(list them with: {cfg_job_command(config_name)})"
            )
        return f"{key + ': ' if key else ''}{first}"
    full_key = ""
    for line in text.splitlines():
        if line.strip().startswith("full_key:"):
            full_key = line.split(":", 1)[1].strip()
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    override = getattr(exc, "override", None)
    if isinstance(override, str) and type(exc).__name__ == "OverrideParseException":
        key, _, value = override.partition("=")
        key = key.lstrip("+~") or "override"
        return (
            f"{key}: could not read the value {value!r}; allowed: a number, a word, a [list], a {{mapping}} "
            f"or text in quotes (quote text with accents or symbols: {key}='...')"
        )
    if "Could not override" in first or "not in struct" in text:
        key = full_key or first.split("'")[1] if "'" in first else first
        return f"{key}: unknown key (check the spelling; list keys with: {cfg_job_command(config_name)})"
    if "Could not find" in first:
        options, collecting = [], False
        for line in text.splitlines()[1:]:
            if line.startswith("Available options"):
                collecting = True
            elif collecting and line[:1].isspace() and line.strip():
                options.append(line.strip())
            elif collecting and line.strip():
                break
        what = first.split("Could not find", 1)[1].strip()
        group = what.strip("'").split("/")[0]
        return f"{group}: option {what} not found; allowed: {', '.join(options) or 'see conf/' + group}"
    if "In 'config'" in first or "Could not load" in first:
        return first
    return f"{full_key + ': ' if full_key else ''}{first}"
