"""Command line of the planner: validate -> search -> re-evaluate -> write the run folder.

Exit codes as ``python -m sim``: 0 finished; 2 bad input (one line on stderr, the run folder's
manifest says ``failed``); 1 unexpected internal error.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


log = logging.getLogger("sim.plan")


def execute(cfg, plan, run_dir: Path | None = None, observed=None, folder=None):
    """Search, re-evaluate and (with ``run_dir``) write the outputs; returns the PlanResult."""
    from sim.observed import load_observed
    from sim.plan.evaluate import Evaluator
    from sim.plan.search import plan_max_probability, plan_min_cost

    logging.getLogger("MESA").setLevel(logging.WARNING)  # mesa logs every model step at INFO
    observed = observed or load_observed(cfg.observed_dir or None)
    search, final = Evaluator(cfg, plan, observed, search=True), Evaluator(cfg, plan, observed, search=False)
    try:
        run = plan_min_cost if plan.spec.mode == "min_cost" else plan_max_probability
        res = run(search, final)
        if run_dir is not None:
            from sim.plan.report import write_plan

            langs = (cfg.reporting.lang,) + tuple(x for x in ("en", "vi") if x != cfg.reporting.lang)
            answer = write_plan(res, final, observed, Path(run_dir), langs, cfg.reporting.dpi, cfg.reporting.figures)
            if folder is not None:
                folder.update(
                    answer=answer, candidates_evaluated=search.n_evaluated, final_plans_evaluated=final.n_evaluated
                )
    finally:
        search.close()
        final.close()
    return res


def run_plan_job(plain: dict, run_dir: Path) -> int:
    """Hydra job: one planner run into ``run_dir``; returns the exit code (see :func:`sim.cli.guarded`)."""
    from sim.cli import guarded

    def work(folder) -> None:
        from sim.manifest import run_facts
        from sim.observed import load_observed
        from sim.plan.spec import split_plain

        cfg, plan = split_plain(plain)
        observed = load_observed(cfg.observed_dir or None)
        folder.update(command=sys.argv, **run_facts(cfg, observed), planner=plain.get("planner"))
        log.info("plan folder %s", run_dir)
        execute(cfg, plan, run_dir, observed, folder)
        log.info("verdict: %s", folder.manifest["answer"]["verdict"]["en"])

    return guarded(run_dir, work, kind="plan")


def main() -> None:
    """Console entry point of ``python -m sim.plan``."""
    from sim.cli import command
    from sim.plan.spec import load_plan

    command(run_plan_job, "plan", load_plan, "plans")


if __name__ == "__main__":
    main()
