"""Investment levers: one module per lever, each validating its own keys.

A scenario lists levers by ``kind``; :func:`build` turns each entry into an object with
``apply(model)``, which the model calls at the start of every month to change province inputs
(``Province.shift``, ``Province.electricity_gap_cut``, ``Province.it_budget_share``).
"""

from __future__ import annotations

from sim.errors import SimInputError

REGISTRY: dict[str, type] = {}


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
