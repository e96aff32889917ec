"""The planner's tables, verdict and run folder.

Files (all staged in ``<run>/.staging/`` and moved into place only when every one exists):
``answer.json`` (the verdict in English and Vietnamese, the chosen plan's probability with its
95 % Jeffreys interval, cost range and the robustness check), ``frontier.csv``, ``allocation.csv``
(province x lever x VND), ``path.csv`` (every greedy step and the differential evolution's best
state, the reported one marked), ``province_probabilities.csv``,
``summary.csv`` and ``targets.csv`` (plan and baseline), ``costs.csv`` (the chosen plan's levers,
their own cost table) and ``figures/{frontier,fan,map}_{en,vi}.png``.
"""

from __future__ import annotations

import json
import logging
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from sim.manifest import atomic_write
from sim.plan.evaluate import Evaluator
from sim.plan.search import Evaluated, PlanResult
from sim.reporting.formats import money_vnd, month, percent

log = logging.getLogger(__name__)


def frontier_table(res: PlanResult, final: Evaluator) -> pd.DataFrame:
    """One row per evaluated plan: budget, cost range, P(every target met) and per-target results."""
    rows = []
    budget = res.frontier[-1].budget_vnd
    for e in [res.baseline, *res.frontier, *([res.robust] if res.robust else [])]:
        lo, hi = e.interval
        row = {
            "label": e.label,
            "budget_vnd": e.budget_vnd,
            "budget_fraction": e.budget_vnd / budget if budget > 0 else (1.0 if e.label == "budget_1" else 0.0),
            "cost_vnd_low": e.cost[0],
            "cost_vnd_central": e.cost[1],
            "cost_vnd_high": e.cost[2],
            "p_met": e.p,
            "p_met_lo": lo,
            "p_met_hi": hi,
            "n_runs": int(e.final.met.size),
            "search_objective": e.point.search.objective if e.point else np.nan,
            "search_p_met": e.point.search.p if e.point else np.nan,
        }
        for j, t in enumerate(final.plan.targets.itertuples()):
            v = e.final.values[:, j]
            row[f"deadline_{t.target_id}"] = t.deadline  # the month judged (planner.deadline applied)
            row[f"p_{t.target_id}"] = float(np.mean(v >= t.threshold))
            row[f"median_{t.target_id}"] = float(np.nanmedian(v))
        row["region_gap_pp"] = e.final.region_gap_pp
        rows.append(row)
    return pd.DataFrame(rows)


def allocation_table(e: Evaluated, final: Evaluator) -> pd.DataFrame:
    """Province x lever x VND of a plan.

    ASSUMPTION: a lever's cost in a province group is split among the group's provinces by 2019
    population (most lever costs scale with people, households or villages; a count-based cost,
    such as local procedures re-engineered per province, is only approximately split this way).
    """
    from sim.levers.common import province_table

    table = province_table(final.cfg.observed_dir)
    pop = table["pop_census2019"].astype(float)
    rows = []
    k = e.point.k if e.point is not None else None
    for li, lev in enumerate(final.plan.levers):
        for g, group in enumerate(final.plan.groups_of(lev)):
            step = int(k[li, g]) if k is not None else 0
            size = lev.size(step) if k is not None else 0.0
            if size <= 0:
                continue
            cost = final.part_cost(li, g, step)
            share = pop.loc[list(group.codes)] / pop.loc[list(group.codes)].sum()
            for code in group.codes:
                rows.append(
                    {
                        "gso_code": code,
                        "province": table.loc[code, "name_vi"],
                        "region": table.loc[code, "region_gso6"],
                        "group": group.name,
                        "lever": lev.kind,
                        "size_key": lev.key,
                        "size": size,
                        "start": lev.start,
                        "ramp_months": lev.ramp_months,
                        **{
                            f"cost_vnd_{n}": c * float(share[code])
                            for n, c in zip(("low", "central", "high"), cost, strict=True)
                        },
                    }
                )
    cols = ["gso_code", "province", "region", "group", "lever", "size_key", "size", "start", "ramp_months"]
    return pd.DataFrame(rows, columns=cols + ["cost_vnd_low", "cost_vnd_central", "cost_vnd_high"])


def path_table(res: PlanResult) -> pd.DataFrame:
    """Every state of the greedy path, then the differential evolution's best state (search scale).

    ``stage`` is ``greedy`` or ``de``; ``answer`` marks the state reported as the plan.
    """
    points = [*res.path, *([res.de] if res.de is not None else [])]
    return pd.DataFrame(
        [
            {
                "step": i,
                "stage": p.stage,
                "move": p.move,
                "cost_vnd_central": p.cost[1],
                "search_objective": p.search.objective,
                "search_p_met": p.search.p,
                "search_region_gap_pp": p.search.region_gap_pp,
                "answer": p is res.chosen.point,
            }
            for i, p in enumerate(points)
        ]
    )


def localities_target(final: Evaluator, observed) -> tuple[str, float]:
    """Deadline and threshold for the per-province probabilities: the planner's localities target,
    else the modelled localities target of seeds/targets.csv at the planner's latest deadline."""
    tg = final.plan.targets
    row = tg[tg["scope"] == "localities"]
    if len(row):
        return str(row["deadline"].iloc[0]), float(row["threshold"].iloc[0])
    t = observed.targets
    loc = t[(t["scope"] == "localities") & (t["indicator"] == "share_dossiers_full_online")]
    return final.plan.end, float(loc["threshold"].iloc[0])


def province_table_p(e: Evaluated, name: str, deadline: str, threshold: float, observed) -> pd.DataFrame:
    """P(local target met) per simulated province with its Jeffreys interval."""
    from sim.results import p_met_interval

    ens = e.final.ensemble
    stacked, dates = ens.indicators(), ens.dates
    rows = []
    for code in ens.results[0].codes:
        v = stacked[("share_dossiers_full_online_ytd", code)][:, dates.index(deadline)]
        k = int(np.sum(v >= threshold))
        lo, hi = p_met_interval(k, v.size)
        rows.append(
            {
                "scenario": name,
                "gso_code": code,
                "province": observed.provinces.loc[code, "name_vi"],
                "deadline": deadline,
                "threshold": threshold,
                "median_share": float(np.nanmedian(v)),
                "p_met": k / v.size,
                "p_met_lo": lo,
                "p_met_hi": hi,
            }
        )
    return pd.DataFrame(rows)


def verdict(res: PlanResult, final: Evaluator) -> dict[str, str]:
    """The answer in one sentence, in English and Vietnamese."""
    from sim.plan.charts import target_name

    spec, e = final.plan.spec, res.chosen
    dl = final.plan.end
    lo, hi = e.interval
    p_en, p_vi = (f"{percent(e.p, x)} (95 % {percent(lo, x)}-{percent(hi, x)})" for x in ("en", "vi"))
    cost_en, cost_vi = (money_vnd(e.cost[1], x, 1, "trillion") for x in ("en", "vi"))
    # each target named with the year it is judged in (planner.deadline applied), not its id's year
    shares = [float(np.nanmedian(e.final.values[:, j])) for j in range(len(final.plan.targets))]
    medians, med_vi = (
        ", ".join(
            f"{target_name(t.target_id, x, deadline=t.deadline)} {percent(v, x)}"
            for t, v in zip(final.plan.targets.itertuples(), shares, strict=True)
        )
        for x in ("en", "vi")
    )
    if not res.reachable and (spec.mode == "min_cost" or e.p == 0):
        en = (
            f"Not reachable by {month(dl, 'en')} at any budget within the levers' bounds: the best plan found "
            f"({cost_en}) gives P(every target met) = {p_en}; median shares reached: {medians}."
        )
        vi = (
            f"Không thể đạt vào {month(dl, 'vi', True)} với bất kỳ mức ngân sách nào trong giới hạn của các giải pháp: "
            f"phương án tốt nhất tìm được ({cost_vi}) cho xác suất đạt mọi mục tiêu = {p_vi}; "
            f"trung vị đạt được: {med_vi}."
        )
        if spec.mode == "max_probability":
            en = en.replace(
                "at any budget within the levers' bounds",
                f"within the budget of {money_vnd(spec.budget_vnd, 'en', 1, 'trillion')}",
            )
            vi = vi.replace(
                "với bất kỳ mức ngân sách nào trong giới hạn của các giải pháp",
                f"trong ngân sách {money_vnd(spec.budget_vnd, 'vi', 1, 'trillion')}",
            )
    elif spec.mode == "min_cost":
        req_en, req_vi = percent(spec.required_probability, "en"), percent(spec.required_probability, "vi")
        en = f"The cheapest plan found that reaches P(every target met) >= {req_en} by {month(dl, 'en')} "
        en += f"costs {cost_en}: P = {p_en}."
        vi = f"Phương án rẻ nhất tìm được đạt xác suất ≥ {req_vi} vào {month(dl, 'vi', True)} "
        vi += f"có chi phí {cost_vi}: xác suất = {p_vi}."
    else:
        b_en, b_vi = money_vnd(spec.budget_vnd, "en", 1, "trillion"), money_vnd(spec.budget_vnd, "vi", 1, "trillion")
        en = f"Best plan found within {b_en} (costs {cost_en}): P(every target met by {month(dl, 'en')}) = {p_en}; "
        en += f"median shares: {medians}."
        vi = f"Phương án tốt nhất trong ngân sách {b_vi} (chi phí {cost_vi}): xác suất đạt mọi mục tiêu vào "
        vi += f"{month(dl, 'vi', True)} = {p_vi}; trung vị: {med_vi}."
    return {"en": en, "vi": unicodedata.normalize("NFC", vi)}


def robustness(res: PlanResult, final: Evaluator) -> dict:
    """How the answer changes when every lever costs ``cost_factor`` times more."""
    f = final.plan.spec.cost_factor
    if res.mode == "min_cost":
        c = res.chosen.cost
        return {
            "cost_factor": f,
            "chosen_plan_cost_vnd": [x * f for x in c],
            "p_met": res.chosen.p,
            "note": "the same plan at higher unit costs: its probability is unchanged, its cost is multiplied",
        }
    if res.robust is None:
        return {"cost_factor": f, "note": "no plan fits the budget at the higher costs"}
    lo, hi = res.robust.interval
    return {
        "cost_factor": f,
        "p_met": res.robust.p,
        "p_met_lo": lo,
        "p_met_hi": hi,
        "cost_vnd_at_base_prices": res.robust.cost[1],
        "note": f"the budget buys the plan that costs budget / {f:g} at the base prices",
    }


def posterior_spread(e: Evaluated) -> dict:
    """P(every target met) within each posterior draw (empty with point values)."""
    draws = np.array([r.draw for r in e.final.ensemble.results])
    if len(set(draws.tolist())) < 2:
        return {}
    per = [float(e.final.met[draws == d].mean()) for d in sorted(set(draws.tolist()))]
    return {
        "n_draws": len(per),
        "p_met_by_draw_q05": float(np.quantile(per, 0.05)),
        "p_met_by_draw_median": float(np.median(per)),
        "p_met_by_draw_q95": float(np.quantile(per, 0.95)),
    }


def write_plan(
    res: PlanResult, final: Evaluator, observed, run_dir: Path, langs: tuple[str, ...], dpi: int, figures: bool = True
) -> dict:
    """Write every planner file into ``run_dir`` (staged; charts only with ``figures``); returns
    ``answer.json``'s content."""
    from sim.ensemble import EnsembleResult
    from sim.levers import cost_table
    from sim.plan import charts

    run_dir = Path(run_dir)
    staging = run_dir / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "figures").mkdir(parents=True)
    try:
        frontier = frontier_table(res, final)
        plan_cfg = final.config(res.chosen.point.k if res.chosen.point else None, "plan")
        base_ens, plan_ens = res.baseline.final.ensemble, res.chosen.final.ensemble
        plan_ens = EnsembleResult(plan_cfg, plan_ens.results)
        base_ens = EnsembleResult(final.config(None, "baseline"), base_ens.results)
        summary = pd.concat([base_ens.summary(), plan_ens.summary()], ignore_index=True)
        targets = pd.concat([base_ens.targets(observed), plan_ens.targets(observed)], ignore_index=True)
        deadline, threshold = localities_target(final, observed)
        provinces = pd.concat(
            [
                province_table_p(res.baseline, "baseline", deadline, threshold, observed),
                province_table_p(res.chosen, "plan", deadline, threshold, observed),
            ],
            ignore_index=True,
        )
        tables = {
            "frontier.csv": frontier,
            "allocation.csv": allocation_table(res.chosen, final),
            "path.csv": path_table(res),
            "province_probabilities.csv": provinces,
            "summary.csv": summary,
            "targets.csv": targets,
            "costs.csv": cost_table(plan_cfg, observed),
        }
        for name, table in tables.items():
            atomic_write(staging / name, table.to_csv(index=False, float_format="%.6g"))
        answer = answer_dict(res, final)
        atomic_write(staging / "answer.json", json.dumps(answer, indent=2, ensure_ascii=False) + "\n")
        dossier_targets = targets_for_fan(final)
        meta = chart_meta(res, final)
        for lang in langs if figures else ():
            figs = {
                "frontier": charts.frontier_chart(frontier, meta, lang),
                "fan": charts.plan_fan_chart(summary, dossier_targets, lang),
                "map": charts.province_map(provinces[provinces["scenario"] == "plan"], meta, lang),
            }
            for name, fig in figs.items():
                fig.savefig(staging / "figures" / f"{name}_{lang}.png", dpi=dpi, bbox_inches="tight")
        for src in sorted(staging.rglob("*")):
            if src.is_file():
                dst = run_dir / src.relative_to(staging)
                dst.parent.mkdir(parents=True, exist_ok=True)
                src.replace(dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return answer


def answer_dict(res: PlanResult, final: Evaluator) -> dict:
    """The content of ``answer.json`` (verdict, chosen plan, robustness, posterior spread)."""
    lo, hi = res.chosen.interval
    return {
        "mode": res.mode,
        "reachable": bool(res.reachable),
        "deadline": final.plan.end,
        "targets": list(final.plan.targets["target_id"]),
        "target_deadlines": dict(zip(final.plan.targets["target_id"], final.plan.targets["deadline"], strict=True)),
        "verdict": verdict(res, final),
        "chosen": {
            "cost_vnd": list(res.chosen.cost),
            "p_met": res.chosen.p,
            "p_met_lo": lo,
            "p_met_hi": hi,
            "n_runs": int(res.chosen.final.met.size),
            "region_gap_pp": res.chosen.final.region_gap_pp,
        },
        "baseline_p_met": res.baseline.p,
        "robustness": robustness(res, final),
        "posterior": posterior_spread(res.chosen),
        "search": {
            "optimizer": final.plan.spec.optimizer,
            "answer_stage": res.answer_stage,
            "steps": len(res.path) - 1,
            "population_scale": final.plan.spec.search_scale,
            "runs_per_candidate": int(res.path[0].search.met.size) if res.path else 0,
            "stages": res.stages,
        },
        "notes": res.notes,
    }


def chart_meta(res: PlanResult, final: Evaluator) -> dict:
    """Facts the planner charts print (see :func:`sim.plan.charts.frontier_chart`)."""
    from sim.plan.charts import text as plan_text

    return {
        "deadline": final.plan.end,
        "targets": dict(zip(final.plan.targets["target_id"], final.plan.targets["threshold"], strict=True)),
        "deadlines": dict(zip(final.plan.targets["target_id"], final.plan.targets["deadline"], strict=True)),
        "budget": final.plan.spec.budget_vnd if res.mode == "max_probability" else None,
        "n_runs": int(res.chosen.final.met.size),
        "scale": final.cfg.population.scale,
        "n_draws": final.cfg.ensemble.n_draws,
        "cost_factor": final.plan.spec.cost_factor,
        "required": final.plan.spec.required_probability if res.mode == "min_cost" else None,
        "scenario": "plan",
        "scenario_label": {lang: plan_text("plan", lang) for lang in ("en", "vi")},  # "phương án" in Vietnamese
    }


def targets_for_fan(final: Evaluator) -> pd.DataFrame:
    """``scope, threshold, deadline`` of the chosen fully-online dossier targets, each at the
    deadline judged (the planner's deadline applied, :attr:`sim.plan.spec.Plan.targets`); targets
    not chosen are not drawn."""
    t = final.plan.targets
    return t[t["indicator"] == "share_dossiers_full_online"][["scope", "threshold", "deadline"]].reset_index(drop=True)
