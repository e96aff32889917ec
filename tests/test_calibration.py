"""Calibration: priors, bad configs, the naive peer, posterior tables, reproducibility and recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.priors import Prior, apply_values, numeric_keys, parse_priors
from sim.calibration.report import naive_peer, posterior_table, resample, weighted_quantiles
from sim.calibration.settings import load_calibrate_config
from sim.calibration.targets import CalibrationTarget, build_targets, logit, parse_specs
from sim.config import load_config
from sim.errors import SimInputError

REPO = Path(__file__).resolve().parents[1]
# A budget stop after the first generation (at a high temperature, ~30 % acceptance): forcing
# temperature 1 in a single generation would accept ~2 % and cost ~500 simulations.
SMALL = [
    "population=tiny",
    "calibration.population_size=10",
    "calibration.max_generations=3",
    "calibration.max_simulations=30",
    "calibration.write_params=false",
    "calibration.n_procs=1",
    "calibration.move_steps=2",
    "calibration.n_draws_saved=10",
]


# ---------------------------------------------------------------- bad calibration configs


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "calibration.priors=[{key: params.q_imitation, dist: uniform, lower: 3, upper: 1}]",
            "lower: 3 is not below upper 1",
        ),
        (
            "calibration.priors=[{key: params.no_such, dist: uniform, lower: 0, upper: 1}]",
            "is not a numeric config key",
        ),
        (
            "calibration.priors=[{key: params.q_imitation, dist: normal, lower: 0, upper: 1}]",
            "allowed: uniform, loguniform",
        ),
        ("calibration.priors=[{key: params.q_imitation, dist: loguniform, lower: 0, upper: 1}]", "must be > 0"),
        ("calibration.priors=[{key: params.habit_use, dist: uniform, lower: 0, upper: 2}]", "leaves the range"),
        ("calibration.max_simulations=0", "calibration.max_simulations: 0 is out of range"),
        ("calibration.population_size=0", "calibration.population_size: 0 is out of range"),
        ("calibration.tag='Bad Tag'", "calibration.tag"),
        ("calibration.sampler=redis", "allowed: local, dask"),
        ("calibration.sampler=dask", "calibration.dask_address"),
        ("calibration.bogus=1", "bogus"),
    ],
)
def test_bad_calibration_config_fails_with_one_line(override, message):
    with pytest.raises(SimInputError) as err:
        load_calibrate_config([override])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_target_fails(observed):
    with pytest.raises(SimInputError, match=r"\.model: 'share_of_unicorns' is not a model indicator"):
        parse_specs([{"name": "x", "indicator": "a", "scope": "national", "series": "s", "model": "share_of_unicorns",
                      "sd_logit": 0.2, "use": True, "why": "test"}])  # fmt: skip
    specs = parse_specs([{"name": "x", "indicator": "share_citizens_using_ops", "scope": "national",
                          "series": "no_such_series", "model": "share_citizens_using_ops_ytd", "sd_logit": 0.2,
                          "use": True, "why": "test"}])  # fmt: skip
    with pytest.raises(SimInputError, match="no observation with indicator 'share_citizens_using_ops'"):
        build_targets(observed, specs)


def test_cli_bad_config_exits_2_without_a_finished_result(tmp_path):
    out = tmp_path / "cal"
    proc = subprocess.run(
        [sys.executable, "-m", "sim.calibrate", "calibration.max_simulations=0", f"hydra.run.dir={out}"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": "0"},
    )  # fmt: skip
    assert proc.returncode == 2
    lines = [x for x in proc.stderr.strip().splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "calibration.max_simulations" in lines[0]
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"
    assert not (out / "posterior.csv").exists()


# ---------------------------------------------------------------- priors and parameter vectors


def test_prior_transforms_and_densities():
    p = Prior("params.q_imitation", "loguniform", 0.5, 8.0)
    x = p.sample_transform(np.array([0.0, 0.5, 1.0 - 1e-12]))
    np.testing.assert_allclose(x, [0.5, 2.0, 8.0], rtol=1e-9)
    grid = np.geomspace(0.5, 8.0, 200001)
    assert abs(np.trapezoid(p.density(grid), grid) - 1.0) < 1e-4
    u = Prior("params.habit_use", "uniform", 0.5, 1.0)
    assert u.density(np.array([0.4, 0.7]))[0] == 0 and u.density(np.array([0.7]))[0] == pytest.approx(2.0)
    assert u.sd() == pytest.approx(0.5 / np.sqrt(12), rel=1e-3)


def test_apply_values_sets_nested_keys_and_checks_ranges():
    cfg = load_config(["population=tiny"])
    new = apply_values(cfg, {"params.q_imitation": 4.5, "drivers.officials_trained.mid_year": 2025.0})
    assert new.params.q_imitation == 4.5 and new.drivers.officials_trained.mid_year == 2025.0
    assert cfg.params.q_imitation != 4.5  # the original is unchanged
    assert "drivers.officials_trained.mid_year" in numeric_keys() and "params.habit_use" in numeric_keys()
    with pytest.raises(SimInputError, match="params.habit_use: 1.5 is out of range"):
        apply_values(cfg, {"params.habit_use": 1.5})
    with pytest.raises(SimInputError, match="backoffice_hi_localities"):
        apply_values(cfg, {"params.backoffice_hi_localities": 0.0, "params.backoffice_lo_localities": 0.5})


def test_default_priors_are_valid_and_documented():
    cfg = load_calibrate_config([])
    priors = parse_priors(cfg.calibration.priors)
    assert len(priors) >= 8 and all(p.why for p in priors)
    lfo = load_calibrate_config(["calibration=lfo_2022"]).calibration
    assert lfo.until == "2022-12" and lfo.tag == "lfo-2022" and lfo.priors == cfg.calibration.priors


# ---------------------------------------------------------------- tables


def _target(name: str, start: str, end: str, share: float) -> CalibrationTarget:
    return CalibrationTarget(name, f"{name}.{end}", "share_citizens_using_ops_ytd", "national", start, end, share, 0.2)


def test_naive_peer_recovers_a_logistic_with_series_levels():
    # logit(share) = a_s + b (mid-year - 2020): a = -3 (citizens), -1 (other), b = 0.8
    def share(a, y0, y1):
        mid = (y0 + y1 + 1) / 2 - 2020
        return 1 / (1 + np.exp(-(a + 0.8 * mid)))

    fit = [_target("cit", f"{y}-01", f"{y}-12", share(-3, y, y)) for y in (2019, 2020, 2021)]
    fit.append(_target("oth", "2021-01", "2021-12", share(-1, 2021, 2021)))
    test = [_target("oth", "2023-01", "2023-12", 0.5), _target("new", "2023-01", "2023-12", 0.5)]
    pred = naive_peer(fit, fit + test)
    np.testing.assert_allclose(pred[:4], [t.observed for t in fit], rtol=1e-9)
    assert pred[4] == pytest.approx(share(-1, 2023, 2023), rel=1e-9)
    assert pred[5] == pytest.approx(share(-3, 2023, 2023), rel=1e-9)  # no data: the best-observed series' level


def test_weighted_quantiles_and_resampling():
    x = np.arange(1.0, 6.0)
    w = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(weighted_quantiles(x, w)[:, ...], [3.0, 3.0, 3.0])
    rng = np.random.default_rng(1)
    idx = resample(np.array([0.1, 0.0, 0.9]), 1000, rng)
    counts = np.bincount(idx, minlength=3)
    assert counts[1] == 0 and abs(counts[0] - 100) <= 1  # systematic resampling: within one of n * w


def test_posterior_table_flags_what_the_data_pin_down():
    priors = [Prior("params.habit_use", "uniform", 0.0, 1.0), Prior("params.lapse_rate_per_year", "uniform", 0.0, 1.0)]
    rng = np.random.default_rng(3)
    values = np.column_stack([rng.normal(0.5, 0.02, 4000), rng.uniform(0, 1, 4000)])
    table = posterior_table(priors, values, np.ones(4000)).set_index("key")
    assert table.loc["params.habit_use", "identifiability"] == "pinned by the data"
    assert table.loc["params.lapse_rate_per_year", "identifiability"] == "prior-driven"
    assert table.loc["params.habit_use", "posterior_median"] == pytest.approx(0.5, abs=0.01)
    assert (table.against_bound == "").all()  # neither heaps against its range


def test_posterior_table_flags_a_posterior_heaped_against_a_bound():
    """A posterior pressed against a prior bound is named, on the scale the prior is uniform on; one
    that only comes near a bound, as the prior itself does, is not."""
    priors = [
        Prior("params.habit_use", "uniform", 0.4, 1.0),
        Prior("params.need_rate_per_year", "loguniform", 0.5, 4.0),
        Prior("params.lapse_rate_per_year", "uniform", 0.0, 1.0),
    ]
    rng = np.random.default_rng(5)
    n = 4000
    values = np.column_stack(
        [
            0.4 + np.abs(rng.normal(0.0, 0.05, n)),  # half-normal from the lower bound: ~45 % within 0.03
            np.exp(np.log(4.0) - np.abs(rng.normal(0.0, 0.3, n))),  # heaped at the upper bound on the log scale
            rng.uniform(0.0, 1.0, n),  # the prior itself: 5 % at each edge
        ]
    )
    table = posterior_table(priors, values, np.ones(n)).set_index("key")
    assert table.loc["params.habit_use", "against_bound"] == "lower"
    assert table.loc["params.habit_use", "mass_near_lower"] == pytest.approx(0.45, abs=0.05)
    assert table.loc["params.need_rate_per_year", "against_bound"] == "upper"
    assert table.loc["params.lapse_rate_per_year", "against_bound"] == ""
    assert table.loc["params.lapse_rate_per_year", "mass_near_upper"] == pytest.approx(0.05, abs=0.015)


# ---------------------------------------------------------------- running ABC


def _small_problem(truth: dict[str, float], priors: list[Prior]):
    from sim.calibration.abc import Simulator
    from sim.calibration.targets import load_specs

    from sim.observed import load_observed

    # Four provinces (Ha Giang and Cao Bang in the northern mountains, Hanoi, HCMC) keep each run cheap;
    # the synthetic observations come from the same four, so the problem stays well posed.
    root = load_calibrate_config(["population=tiny", 'population.provinces=["02","04","01","79"]'])
    cfg = root.run_config()
    targets = build_targets(load_observed(), load_specs())
    sim_ = Simulator(cfg, priors, targets, targets)
    observed = sim_.values(truth)  # synthetic observations: the model at known parameters
    return sim_, logit(observed), root


def _settings(**kw):
    root = load_calibrate_config(SMALL + [f"calibration.{k}={v}" for k, v in kw.items()])
    return root.calibration


@pytest.mark.slow
def test_same_seed_same_posterior_for_one_or_two_processes(tmp_path):
    from sim.calibration.abc import run_abc

    priors = [Prior("params.need_rate_per_year", "loguniform", 0.5, 4.0)]
    sim_, y, root = _small_problem({"params.need_rate_per_year": 1.2}, priors)
    out = []
    for n in (1, 2):
        # two generations (the budget stops the third), so the proposal built from a previous
        # generation's particles is covered too
        s = _settings(population_size=12, max_generations=3, max_simulations=100, n_procs=n)
        run = run_abc(sim_, y, s, str(tmp_path / f"h{len(out)}.db"), rng_seed=5)
        df, w = run.history.get_distribution(m=0, t=run.history.max_t)
        out.append((df.sort_values("p00").to_numpy(), np.sort(w), run.n_simulations, run.moves.z))
    assert run.history.max_t == 1
    for other in out[1:]:
        np.testing.assert_array_equal(out[0][0], other[0])
        np.testing.assert_array_equal(out[0][1], other[1])
        assert out[0][2] == other[2]
        np.testing.assert_array_equal(out[0][3], other[3])  # the moved draws too


@pytest.mark.slow
def test_recovery_of_known_parameters(tmp_path):
    """Simulate the ten published series at known parameters, calibrate two of them, recover them.

    Tolerance: the truth lies inside the posterior 90 % interval and the posterior sd is less than
    half the prior's (contraction > 0.75), with a budget of ~600 simulations of four provinces at the
    tiny scale.
    """
    from sim.calibration.abc import run_abc
    from sim.calibrate import particles

    truth = {"params.need_rate_per_year": 1.2, "params.backoffice_hi_localities": 0.7}
    priors = [
        Prior("params.need_rate_per_year", "loguniform", 0.5, 4.0),
        Prior("params.backoffice_hi_localities", "uniform", 0.4, 1.0),
    ]
    sim_, y, root = _small_problem(truth, priors)
    s = _settings(population_size=60, max_generations=4, max_simulations=40000, n_procs=2, move_steps=0)
    run = run_abc(sim_, y, s, str(tmp_path / "rec.db"), rng_seed=11)
    assert run.final_temperature == pytest.approx(1.0)
    values, weights, _ = particles(run.history, priors)
    table = posterior_table(priors, values, weights).set_index("key")
    for key, true in truth.items():
        row = table.loc[key]
        assert row.posterior_q05 <= true <= row.posterior_q95, (key, row.to_dict())
        assert row.contraction > 0.75, (key, row.contraction)


@pytest.mark.slow
def test_cli_writes_a_finished_calibration_and_never_overwrites(tmp_path):
    out = tmp_path / "cal"
    args = [sys.executable, "-m", "sim.calibrate", *SMALL, "calibration.tag=citest", f"hydra.run.dir={out}"]
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["n_simulations"] >= 10
    for name in ("posterior.csv", "posterior_draws.csv", "generations.csv", "fit.csv", "identifiability.csv",
                 "diagnostics.json", "figures/predictive_en.png", "figures/predictive_vi.png",
                 "figures/marginals_en.png", "figures/marginals_vi.png"):  # fmt: skip
        assert (out / name).exists(), name
    fit = pd.read_csv(out / "fit.csv")
    assert len(fit) == 10 and set(fit.use) == {"fitted"}
    assert ((fit.model_q05 <= fit.model_median + 1e-12) & (fit.model_median <= fit.model_q95 + 1e-12)).all()
    draws = pd.read_csv(out / "posterior_draws.csv")
    assert len(draws) == 10 and draws.columns[0] == "draw"
    assert not (out / "resume.json").exists() and not (out / ".staging").exists()
    again = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 2 and "already holds a finished run" in again.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "ok"


def test_resume_needs_the_settings_and_data_it_started_with(tmp_path, observed):
    """Resuming an interrupted calibration with other settings would mix two posteriors in one
    database: refused in one line naming the setting, the interrupted run left as it was. Its
    budget and where it runs may change."""
    from sim.calibrate import RESUME_FILE, check_resume, resume_record

    root = load_calibrate_config([*SMALL, "calibration.tag=resumed"])
    record = resume_record(root, observed)
    from sim.manifest import RunFolder

    out = tmp_path / "cal"
    RunFolder(out, kind="calibration").finish("failed", "interrupted")  # as an interrupted calibration leaves it
    staging = out / ".staging"
    staging.mkdir(parents=True)
    (staging / "abc.db").write_bytes(b"interrupted")
    (staging / RESUME_FILE).write_text(json.dumps(record))
    wider = [o if "population_size" not in o else "calibration.population_size=20" for o in SMALL]
    args = [*wider, "calibration.tag=resumed", "calibration.resume=true", f"hydra.run.dir={out}"]
    proc = subprocess.run([sys.executable, "-m", "sim.calibrate", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": "0"})  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert lines == [
        "error: calibration.resume: calibration.population_size is 20, the interrupted run had 10; allowed: the "
        "interrupted run's settings (only max_simulations, max_walltime_minutes, n_procs, sampler, dask_address "
        "may change)"
    ], lines
    assert (staging / "abc.db").read_bytes() == b"interrupted" and not (out / "posterior.csv").exists()
    more_time = load_calibrate_config([*SMALL, "calibration.tag=resumed", "calibration.max_walltime_minutes=90"])
    check_resume(staging, resume_record(more_time, observed))  # a budget may change
    with pytest.raises(SimInputError, match="the observed data changed"):
        check_resume(staging, {**record, "data_hashes": {**record["data_hashes"], "observations.csv": "0"}})
    (staging / RESUME_FILE).unlink()
    with pytest.raises(SimInputError, match="no record of its settings"):
        check_resume(staging, record)


def test_a_finished_tag_is_refused_naming_calibration_tag(tmp_path, monkeypatch, capsys):
    """The folder of a calibration is named by its tag: the refusal names calibration.tag (before:
    hydra.run.dir, a key the user had not set), and an existing conf/params/<tag>.yaml is refused
    even with write_params=false (its results folder would hold another posterior)."""
    from sim.cli import preflight
    from sim.manifest import RunFolder

    import sim.cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sim.cli, "RESULTS_DIR", tmp_path / "results")  # where the refusal is recorded
    RunFolder(Path("results/calibration/done"), kind="calibration").finish("ok")
    with pytest.raises(SystemExit) as stop:
        preflight(["calibration.tag=done"], load=load_calibrate_config, under="calibration", config_name="calibrate")
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "error: calibration.tag: results/calibration/done already holds a finished run; allowed: a new folder "
        "(finished results are never overwritten)"
    )
    (failed,) = [p for p in (tmp_path / "results" / "calibration").iterdir() if p.name.endswith("-failed")]
    assert json.loads((failed / "manifest.json").read_text())["kind"] == "calibration"
    with pytest.raises(SimInputError, match=r"^calibration.tag: conf/params/calibrated.yaml already exists"):
        from sim.calibrate import check_inputs
        from sim.observed import load_observed

        check_inputs(load_calibrate_config(["calibration.write_params=false"]), load_observed())


def test_params_files_are_never_overwritten(tmp_path):
    from sim.calibration.params_file import write_params_files

    path = tmp_path / "x.yaml"
    draws = pd.DataFrame({"draw": [0, 1], "params.q_imitation": [1.0, 2.0]})
    write_params_files(path, "params: {}\n", draws)
    assert path.read_text() == "params: {}\n" and (tmp_path / "x.draws.csv").exists()
    with pytest.raises(SimInputError, match="already exists"):
        write_params_files(path, "other\n", draws)
    assert path.read_text() == "params: {}\n"


def test_ensemble_draws_need_a_posterior(tmp_path, monkeypatch):
    from sim import ensemble

    cfg = load_config(["population=tiny", "params=default", "ensemble.n_draws=2"])
    with pytest.raises(SimInputError, match="ensemble.n_draws: 2 needs a calibrated posterior"):
        ensemble.parameter_sets(cfg)
    (tmp_path / "params").mkdir()
    pd.DataFrame({"draw": [0, 1, 2], "params.q_imitation": [1.0, 2.0, 3.0]}).to_csv(tmp_path / "params" / "t.csv")
    monkeypatch.setattr(ensemble, "CONF_DIR", tmp_path)
    import dataclasses

    cfg = dataclasses.replace(cfg, params=dataclasses.replace(cfg.params, posterior_file="t.csv"))
    with pytest.raises(SimInputError, match="column 'Unnamed: 0' is not allowed"):
        ensemble.parameter_sets(cfg)
    pd.DataFrame({"draw": [0, 1, 2], "params.q_imitation": [1.0, 2.0, 3.0]}).to_csv(
        tmp_path / "params" / "t.csv", index=False
    )
    assert ensemble.parameter_sets(cfg) == [{"params.q_imitation": 1.0}, {"params.q_imitation": 2.0}]
    big = dataclasses.replace(cfg, ensemble=dataclasses.replace(cfg.ensemble, n_draws=4))
    with pytest.raises(SimInputError, match="ensemble.n_draws: 4 is more than the 3 posterior draws"):
        ensemble.parameter_sets(big)


def test_finished_runs_are_released(observed):
    """Calibration runs thousands of models in one process: none may stay referenced after its run."""
    import gc

    import mesa

    from sim.ensemble import run_replicate
    from sim.model import AdoptionModel

    cfg = load_config(["population=tiny", "timeline.end=2017-03"])
    for rep in range(2):
        run_replicate(cfg, observed, rep)
    gc.collect()
    assert not any(isinstance(m, AdoptionModel) for m in mesa.Agent._ids)
    assert not any(isinstance(o, AdoptionModel) for o in gc.get_objects())


def test_finished_runs_free_their_citizens_at_once(observed, monkeypatch):
    """A model sits in reference cycles (mesa's wrapped step, the provinces' model references), so
    only the cycle collector would free it; its citizen arrays, the bulk of its memory, must go as
    soon as the run ends (national ensembles held every finished run's 1.4 GB before)."""
    import gc
    import weakref

    from sim.ensemble import run_replicate
    from sim.model import AdoptionModel

    populations = []
    build = AdoptionModel.__init__

    def tracked(self, *args, **kwargs):
        build(self, *args, **kwargs)
        populations.append(weakref.ref(self.pop))

    monkeypatch.setattr(AdoptionModel, "__init__", tracked)
    cfg = load_config(["population=tiny", "timeline.end=2017-03"])
    gc.collect()
    gc.disable()
    try:
        for rep in range(2):
            run_replicate(cfg, observed, rep)
        alive = [ref() is not None for ref in populations]
    finally:
        gc.enable()
    assert alive == [False, False]


def test_a_closed_model_says_so_when_stepped(observed):
    from sim.model import AdoptionModel

    model = AdoptionModel(load_config(["population=tiny", "timeline.end=2017-03"]), observed)
    model.step()
    model.close()
    with pytest.raises(RuntimeError, match="this model was closed"):
        model.step()


@pytest.mark.slow
def test_dask_backend_gives_the_local_posterior(tmp_path):
    """The cluster path: the same seeded tasks on a Dask scheduler give the same posterior."""
    from distributed import LocalCluster

    from sim.calibration.abc import run_abc

    priors = [Prior("params.need_rate_per_year", "loguniform", 0.5, 4.0)]
    sim_, y, _ = _small_problem({"params.need_rate_per_year": 1.2}, priors)
    local = run_abc(sim_, y, _settings(population_size=10), str(tmp_path / "a.db"), rng_seed=3)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        s = _settings(population_size=10, sampler="dask", dask_address=cluster.scheduler_address)
        remote = run_abc(sim_, y, s, str(tmp_path / "b.db"), rng_seed=3)
    a, _ = local.history.get_distribution(m=0, t=0)
    b, _ = remote.history.get_distribution(m=0, t=0)
    np.testing.assert_array_equal(np.sort(a["p00"].to_numpy()), np.sort(b["p00"].to_numpy()))
    assert local.n_simulations == remote.n_simulations


class _LinearToy:
    """A deterministic stand-in simulator: the fitted logits are the parameters themselves."""

    def __init__(self, priors, sd):
        from types import SimpleNamespace

        self.priors = priors
        self.fit = [SimpleNamespace(sd_logit=v) for v in sd]

    def __call__(self, pars):
        z = np.array([pars[f"p{i:02d}"] for i in range(len(self.priors))])
        return {"y": z, "all": 1.0 / (1.0 + np.exp(-z))}


def test_move_step_samples_the_exact_posterior_from_few_distinct_particles():
    """Resample-move on a toy with a known posterior: y = theta (2-D), flat prior on [-5, 5], Gaussian
    measurement error, so the posterior is N(obs, sd^2). The last generation is 30 particles from a
    proposal twice as wide with importance weights (few effective particles); the 800 moved draws
    (40 steps) reach the analytic posterior (means within 0.1 sd, sds within 15 %), are
    reproducible, and never leave the prior's bounds."""
    from sim.calibration.abc import rejuvenate
    from sim.calibration.report import effective_sample_size

    priors = [Prior("a", "uniform", -5.0, 5.0), Prior("b", "uniform", -5.0, 5.0)]
    sd = np.array([0.3, 0.6])
    obs = np.array([0.5, -1.0])
    toy = _LinearToy(priors, sd)
    rng = np.random.default_rng(0)
    z = obs + 2 * sd * rng.standard_normal((30, 2))
    w = np.exp(-0.5 * np.sum(((z - obs) / sd) ** 2, axis=1) * (1 - 1 / 4))  # posterior / proposal
    assert effective_sample_size(w) < 20
    sample = (z, w, z.copy(), 1 / (1 + np.exp(-z)))
    moves = rejuvenate(toy, obs, sample, 800, 40, rng_seed=3, map_=map)
    assert moves.n_unique_start < 30 and moves.n_unique > 700
    assert np.all(np.abs(moves.z) <= 5.0)
    np.testing.assert_allclose(moves.z.mean(axis=0), obs, atol=0.1 * sd.min())
    np.testing.assert_allclose(moves.z.std(axis=0), sd, rtol=0.15)
    np.testing.assert_allclose(moves.shares, 1 / (1 + np.exp(-moves.z)))
    assert 0.1 < np.mean(moves.acceptance) < 0.9
    again = rejuvenate(toy, obs, sample, 800, 40, rng_seed=3, map_=map)
    np.testing.assert_array_equal(moves.z, again.z)
    still = rejuvenate(toy, obs, sample, 800, 0, rng_seed=3, map_=map)  # no steps: the resampled particles
    assert still.n_unique == still.n_unique_start < 30
    # the calibration's budgets bind the moves too: no step that would exceed the simulations left,
    # none after the deadline, and the record says how many ran of those asked
    short = rejuvenate(toy, obs, sample, 800, 40, rng_seed=3, map_=map, max_simulations=2000)
    assert 0 < len(short.acceptance) < 40 and short.n_simulations <= 2000 and short.steps_asked == 40
    np.testing.assert_array_equal(short.acceptance, moves.acceptance[: len(short.acceptance)])
    import time

    late = rejuvenate(toy, obs, sample, 800, 40, rng_seed=3, map_=map, deadline=time.perf_counter())
    assert late.acceptance == [] and late.n_simulations == 0 and late.n_unique == late.n_unique_start


def test_calibration_charts_name_what_they_show():
    """Readable without the code: parameters by name (the key below), round log ticks, held-out
    figures in the legend, and the months fitted in the chart's language."""
    from sim.calibration import charts

    table = pd.DataFrame(
        {
            "target": ["citizens_national", "full_online_localities"],
            "period": ["2021-01..2021-12", "2024-01..2024-08"],
            "observed": [0.095, 0.17], "sd_logit": [0.35, 0.15], "use": ["fitted", "held out"],
            "model_q05": [0.07, 0.15], "model_median": [0.09, 0.17], "model_q95": [0.12, 0.2],
            "pred_q05": [0.05, 0.13], "pred_q95": [0.16, 0.22],
        }
    )  # fmt: skip
    priors = parse_priors(load_calibrate_config([]).calibration.priors)
    rng = np.random.default_rng(1)
    values = np.column_stack(  # 400 draws from each prior, as many as shipped: about 20 near each edge
        [
            np.exp(rng.uniform(np.log(p.lower), np.log(p.upper), 400))
            if p.dist == "loguniform"
            else rng.uniform(p.lower, p.upper, 400)
            for p in priors
        ]
    )
    from sim.calibration.report import posterior_table

    ident = posterior_table(priors, values, np.ones(400))
    for lang, month, held, name in (
        ("en", "all, to Aug 2024", "Held-out figure", "Procedure needs per adult per year"),
        ("vi", "toàn bộ, đến 8/2024", "Số liệu giữ lại", "Số nhu cầu thủ tục mỗi người lớn mỗi năm"),
    ):
        fig = charts.predictive_chart(table, {"tag": "t", "n_sims": 5, "until": ""}, lang)
        assert any(month in t.get_text() for t in fig.texts), [t.get_text() for t in fig.texts]
        assert any(t.get_text().startswith(held) for t in fig.axes[0].get_legend().get_texts())
        marg = charts.marginals_chart(
            priors, values, np.ones(400), ident, {"tag": "t", "n_sims": 5, "until": "2022-12"}, lang
        )
        first = marg.axes[0]
        assert first.get_title().startswith(name) and "need_rate_per_year" in first.get_title()
        assert [t.get_text() for t in first.get_xticklabels()] == ["0.5", "1", "2"]  # loguniform(0.5, 4)
        assert any(("Dec 2022" if lang == "en" else "12/2022") in t.get_text() for t in marg.texts)
        assert "bound" not in first.get_title() and "cận" not in first.get_title()  # uniform: no bound named
        heaped = values.copy()
        heaped[:, 0] = priors[0].upper * 0.99  # every draw within 5 % of the range (log scale) of the upper bound
        marg = charts.marginals_chart(
            priors, heaped, np.ones(400), posterior_table(priors, heaped, np.ones(400)), {"tag": "t", "n_sims": 5}, lang
        )
        bound = "against the prior's upper bound" if lang == "en" else "sát cận trên của tiên nghiệm"
        assert bound in marg.axes[0].get_title() and bound not in marg.axes[1].get_title()
