"""vn-ops-sim: agent-based model of online public-service adoption in Vietnam."""

from sim.api import run, save
from sim.config import RunConfig, load_config
from sim.errors import SimInputError

__all__ = ["RunConfig", "SimInputError", "load_config", "run", "save"]
__version__ = "0.1.0"
