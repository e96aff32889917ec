"""vn-ops-sim: agent-based model of online public-service adoption in Vietnam.

``import sim`` is light: ``sim.run``, ``sim.save``, ``sim.load_config``, ``sim.RunConfig``,
``sim.SimInputError`` and the subpackages (``sim.model``, ``sim.observed``, ...) load when first
used, so ``python -m sim`` can answer Ctrl-C with one line even while numpy and the model load.
"""

import importlib

_NAMES = {
    "run": "sim.api",
    "save": "sim.api",
    "RunConfig": "sim.config",
    "load_config": "sim.config",
    "SimInputError": "sim.errors",
}
__all__ = ["RunConfig", "SimInputError", "load_config", "run", "save"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    else:
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_NAMES))
