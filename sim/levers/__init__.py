"""Investment levers: one module per lever, each validating its own keys.

A scenario lists levers by ``kind``; :func:`build` turns each entry into an object with
``apply(model)``, which the model calls at the start of every month to change province inputs
(``Province.shift``, ``electricity_gap_cut``, ``it_budget_share``, ``teams_extra``,
``utility_shift``). Shared machinery (keys, schedule, targeting, costs) is in :mod:`sim.levers.common`.
:func:`cost_table` gives each lever's cost range in VND (written as ``costs.csv`` in a run folder);
:func:`cost_draws` samples the costs for ensemble draw ``k``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.errors import SimInputError
from sim.levers.awareness import Awareness
from sim.levers.broadband import Broadband
from sim.levers.common import Lever
from sim.levers.data import Data
from sim.levers.eid import Eid
from sim.levers.electricity import Electricity
from sim.levers.electronic_only import ElectronicOnly
from sim.levers.fees import Fees
from sim.levers.it_budget import ItBudget
from sim.levers.process import Process
from sim.levers.teams import Teams
from sim.levers.training import Training

if TYPE_CHECKING:
    from sim.config import RunConfig
    from sim.observed import ObservedData

REGISTRY: dict[str, type[Lever]] = {
    cls.kind: cls
    for cls in (Electricity, Broadband, ItBudget, Process, Training, Data, Teams, Awareness, Eid, ElectronicOnly, Fees)
}
"""Lever classes by ``kind`` (the scenario key)."""

COST_COLUMNS = ["lever", "kind", "targeting", "start", "cost_vnd_low", "cost_vnd_central", "cost_vnd_high"]


def build(entries: list[dict], cfg) -> list:
    """Instantiate the scenario's levers.

    Raises:
        SimInputError: unknown lever kind or invalid lever key (one line).
    """
    levers = []
    for i, entry in enumerate(entries):
        kind = entry.get("kind")
        if kind not in REGISTRY:
            allowed = ", ".join(sorted(REGISTRY)) or "none are defined yet"
            raise SimInputError(f"scenario.levers[{i}].kind: '{kind}' is not a lever; allowed: {allowed}")
        levers.append(REGISTRY[kind].from_entry(entry, f"scenario.levers[{i}]", cfg))
    return levers


def cost_table(cfg: RunConfig, observed: ObservedData) -> pd.DataFrame:
    """Cost of every lever of the scenario within the run, in VND, and their total.

    Columns: ``lever`` (index in ``scenario.levers``; empty on the total row), ``kind`` (``total`` on
    the last row), ``targeting`` (in words, with the number of provinces), ``start`` (YYYY-MM),
    ``cost_vnd_low``, ``cost_vnd_central``, ``cost_vnd_high``. Costs cover the simulated provinces up
    to ``timeline.end`` (see :meth:`sim.levers.common.Lever.cost_range`). A baseline gives only the
    total row, with zeros.
    """
    rows = []
    for i, lever in enumerate(build(cfg.scenario.levers, cfg)):
        lo, mid, hi = lever.cost_range(cfg, observed)
        rows.append((str(i), lever.kind, lever.describe_targets(), lever.params.start, lo, mid, hi))
    total = [sum(r[k] for r in rows) for k in (4, 5, 6)]
    rows.append(("", "total", "", "", *(float(v) for v in total)))
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def cost_draws(cfg: RunConfig, observed: ObservedData, draw: int) -> np.ndarray:
    """Costs of the scenario's levers for ensemble draw ``draw`` (VND, ``(n_levers,)``).

    Each lever draws from a triangular distribution over its (low, central, high) range with its own
    random stream (``Stream.COST``), so the same seed and draw give the same costs in every process.
    """
    levers = build(cfg.scenario.levers, cfg)
    return np.array([lev.cost_draw(cfg, observed, draw, i) for i, lev in enumerate(levers)], float)


__all__ = ["COST_COLUMNS", "REGISTRY", "Lever", "build", "cost_draws", "cost_table"]
