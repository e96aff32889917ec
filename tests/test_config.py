"""Config composition and validation: every file composes; bad input gives one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config import CONF_DIR, RunConfig, load_config
from sim.errors import SimInputError

GROUPS = ["population", "drivers", "params", "scenario", "ensemble", "reporting"]


def all_options():
    for group in GROUPS:
        for path in sorted((CONF_DIR / group).glob("*.yaml")):
            yield f"{group}={path.stem}"


@pytest.mark.parametrize("override", list(all_options()))
def test_every_config_file_composes(override):
    cfg = load_config([override])
    assert isinstance(cfg, RunConfig)


def test_scenario_files_start_with_package_header():
    for path in (CONF_DIR / "scenario").glob("*.yaml"):
        assert path.read_text(encoding="utf-8").splitlines()[0] == "# @package _global_", path


def test_defaults_are_the_documented_ones():
    cfg = load_config()
    assert cfg.population.scale == 100
    assert cfg.timeline.start == "2017-01" and cfg.timeline.end == "2030-12"
    assert cfg.scenario.name == "baseline" and cfg.scenario.levers == []
    assert abs(sum(cfg.population.age_shares) - 1) < 1e-9


@pytest.mark.parametrize(
    "override,key",
    [
        (["population.scal=5"], "population.scal"),
        (["population.scale=-1"], "population.scale"),
        (["population.scale=0"], "population.scale"),
        (["params.habit_use=1.5"], "params.habit_use"),
        (["params.lapse_rate_per_year=-0.1"], "params.lapse_rate_per_year"),
        (["rng_seed=abc"], "rng_seed"),
        (["ensemble.n_reps=0"], "ensemble.n_reps"),
        (["timeline.end=2016-12"], "timeline.end"),
        (["timeline.start=2017-13"], "timeline.start"),
        (["population=huge"], "population"),
        (["scenario=nope"], "scenario"),
        (["reporting.lang=fr"], "reporting.lang"),
        (["+foo=1"], "foo"),
        (
            ["params.backoffice_lo_localities=0.9", "params.backoffice_hi_localities=0.2"],
            "params.backoffice_hi_localities",
        ),
        (["drivers.eid.hi=-0.1"], "drivers.eid.hi"),
        (["drivers.quality.hi=0.1"], "drivers.quality.hi"),
        (["scenario.label=Cơ sở"], "scenario.label"),  # accents need quotes in an override
        (["rng_seed=[1"], "rng_seed"),
    ],
)
def test_bad_input_is_one_line_naming_the_key(override, key):
    with pytest.raises(SimInputError) as err:
        load_config(override)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(key), msg
    assert "allowed" in msg or "unknown" in msg or "not" in msg


def test_quoted_text_with_accents_is_read():
    cfg = load_config(["scenario.label_vi='Cơ sở'"])
    assert (cfg.scenario.display("vi"), cfg.scenario.display("en")) == ("Cơ sở", "Baseline (current trends)")


def test_conf_dir_is_the_repository_folder():
    assert (CONF_DIR / "config.yaml").exists()
    assert Path(CONF_DIR).name == "conf"
