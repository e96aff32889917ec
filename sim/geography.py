"""Province codes, strata, age bands, tiers, and the 63 -> 34 province crosswalk (codes only)."""

from __future__ import annotations

import numpy as np
import pandas as pd

STRATA = ("urban", "rural", "remote")
AGE_BANDS = ("0-14", "15-34", "35-59", "60+")
TIERS = ("ministries", "localities")
N_STRATA, N_AGES, N_TIERS = len(STRATA), len(AGE_BANDS), len(TIERS)


def strata_shares(
    provinces: pd.DataFrame, remote_share_of_minority: float, remote_floor_mountain: float, remote_share_island: float
) -> np.ndarray:
    """Population shares by stratum (urban, rural, remote) for each province.

    Urban share is GSO's 2019 urban share. The remote share (ASSUMPTION, see
    ``conf/population/default.yaml``) is carved out of the rural share:
    ``remote = min(rural, k * minority_share + floor * mountain + island_add * has_island)``.

    Args:
        provinces: table indexed by gso_code with ``urban_share_2019``, ``ethnic_minority_share``,
            ``is_mountain_region_proxy``, ``n_island_districts``.

    Returns:
        Array of shape ``(n_provinces, 3)``, rows summing to 1.
    """
    urban = provinces["urban_share_2019"].to_numpy(float)
    rural_all = 1.0 - urban
    remote = (
        remote_share_of_minority * provinces["ethnic_minority_share"].to_numpy(float)
        + remote_floor_mountain * provinces["is_mountain_region_proxy"].to_numpy(float)
        + remote_share_island * (provinces["n_island_districts"].to_numpy(float) > 0)
    )
    remote = np.minimum(remote, rural_all)
    return np.column_stack([urban, rural_all - remote, remote])


def crosswalk_matrix(old_codes: list[str], merger: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """0/1 matrix mapping the 63 old provinces to the 34 provinces of July 2025.

    Args:
        old_codes: old GSO codes in model order.
        merger: table with ``old_gso_code`` and ``new_code_2025``.

    Returns:
        ``(new_codes, M)`` with ``M[j, i] = 1`` when old province ``i`` is part of new province ``j``.
    """
    mapping = dict(zip(merger["old_gso_code"], merger["new_code_2025"], strict=True))
    new_codes = sorted(set(mapping.values()))
    pos = {c: j for j, c in enumerate(new_codes)}
    m = np.zeros((len(new_codes), len(old_codes)))
    for i, code in enumerate(old_codes):
        m[pos[mapping[code]], i] = 1.0
    return new_codes, m
