"""``python -m sim.plan``: the investment planner.

Given a budget (VND) it searches the allocation of the allowed levers over province groups that
maximises the probability that every chosen target is met by the deadline; given a required
probability it searches the cheapest such allocation, or says that the requirement is not
reachable within the levers' bounds. The search (:mod:`sim.plan.search`) is a budget-constrained
greedy over lever increments, then scipy's differential evolution over the lever-step grid started
from the greedy's answer (``planner.optimizer``), at a coarse population scale with common random
numbers; every reported plan is re-run at the final scale and reported with its Monte-Carlo interval
(:mod:`sim.plan.report`). Inputs are validated at compose time (:mod:`sim.plan.spec`).
"""

from sim.plan.spec import Plan, PlanSpec, load_plan

__all__ = ["Plan", "PlanSpec", "load_plan", "run_plan"]


def run_plan(overrides: list[str] | None = None, run_dir=None, observed=None):
    """Run the planner from Python with Hydra-style overrides; returns the :class:`~sim.plan.search.PlanResult`.

    With ``run_dir`` the run folder (tables, charts, manifest) is also written.
    """
    from sim.plan.__main__ import execute

    cfg, plan = load_plan(overrides)
    return execute(cfg, plan, run_dir, observed)
