"""Calibration targets: selection from seeds/, leave-future-out cut, likelihood and bad specs."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.calibration.targets import build_targets, fit_table, load_specs, log_likelihood, model_values
from sim.errors import SimInputError


@pytest.fixture(scope="module")
def specs():
    return load_specs()


def test_used_targets_and_reasons(observed, specs):
    assert all(s.why for s in specs)
    targets = build_targets(observed, specs)
    names = [t.name for t in targets]
    assert names.count("citizens_national") == 3 and names.count("full_online_ministries") == 2
    assert names.count("full_online_localities") == 3  # 2023, 2024-H1, Jan-Aug 2024 (reported twice, counted once)
    assert names.count("full_online_national") == 2
    assert "citizens_hcmc" not in names and "papi_portal_use" not in names
    assert all(t.period_start.endswith("-01") for t in targets)


def test_leave_future_out_keeps_only_data_to_the_cutoff(observed, specs):
    early = build_targets(observed, specs, until="2022-12")
    assert [t.name for t in early] == ["citizens_national"] * 3  # no fully-online figure exists before 2023


def test_likelihood_is_highest_at_the_observations(observed, specs):
    targets = build_targets(observed, specs)
    exact = np.array([[t.observed for t in targets]] * 3)
    off = np.clip(exact * 1.5, 0, 1)
    assert log_likelihood(exact, targets) > log_likelihood(off, targets)
    # closed form for one target: replicate spread enters as var(logit)/R added to sd^2
    one = targets[:1]
    v = np.array([[0.02], [0.03], [0.04]])
    lv = np.log(v / (1 - v))[:, 0]
    sd2 = one[0].sd_logit ** 2 + lv.var(ddof=1) / 3
    r = np.log(one[0].observed / (1 - one[0].observed)) - lv.mean()
    assert log_likelihood(v, one) == pytest.approx(-0.5 * r**2 / sd2 - 0.5 * np.log(2 * np.pi * sd2))
    table = fit_table(exact, targets)
    assert np.allclose(table.z_logit, 0) and list(table.observed) == [t.observed for t in targets]


def test_model_values_come_from_the_ensemble(observed, specs):
    targets = build_targets(observed, specs)
    res = sim.run(
        ["population=tiny", "ensemble.n_reps=2", "ensemble.n_draws=0", "ensemble.n_jobs=1", "timeline.end=2024-12"],
        observed,
    )
    values = model_values(res.indicators(), res.dates, targets)
    assert values.shape == (2, len(targets)) and ((values >= 0) & (values <= 1)).all()
    with pytest.raises(SimInputError, match="outside the run"):
        short = sim.run(["population=tiny", "ensemble=single", "timeline.end=2021-12"], observed)
        model_values(short.indicators(), short.dates, targets)


@pytest.mark.parametrize(
    "edit,needle",
    [
        ("  - name: x\n    indicator: share_citizens_using_ops\n", "missing key"),
        (
            "  - {name: x, indicator: a, scope: b, series: c, model: d, sd_logit: 0.1, use: true, why: e, extra: 1}\n",
            "unknown key",
        ),
        ("  - {name: x, indicator: a, scope: b, series: c, model: d, sd_logit: -1, use: true, why: e}\n", "sd_logit"),
        (
            "  - {name: x, indicator: nope, scope: b, series: c, model: share_citizens_using_ops_ytd, sd_logit: 0.1,"
            " use: true, why: e}\n",
            "no observation",
        ),
        (
            "  - {name: x, indicator: a, scope: b, series: c, model: share_of_unicorns,"
            " sd_logit: 0.1, use: true, why: e}\n",
            "is not a model indicator",
        ),
    ],
)
def test_bad_target_specs_fail_with_one_line(tmp_path, observed, edit, needle):
    path = tmp_path / "targets.yaml"
    path.write_text("targets:\n" + edit)
    with pytest.raises(SimInputError) as err:
        build_targets(observed, load_specs(path))
    assert needle in str(err.value) and "\n" not in str(err.value)
