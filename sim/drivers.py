"""Exogenous trends of province state (pure functions of time and province indices).

Each trend is a :class:`~sim.config.Logistic` curve (values in ``conf/drivers``) shifted per province
by a standardized index ``z``: connectivity and devices by PAPI's internet-access sub-dimension,
service supply, training, interoperability and outreach by the DTI 2022 rank (better rank = larger z).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config import Logistic


def logistic(spec: Logistic, year: float, z: np.ndarray | float = 0.0, shift: np.ndarray | float = 0.0):
    """Evaluate a logistic trend at decimal ``year``.

    Args:
        spec: curve parameters.
        year: decimal year.
        z: province index (standardized), scaled by ``spec.spread``.
        shift: extra logit shift (levers use it; 0 in the baseline).

    Returns:
        Value(s) in ``[spec.lo, spec.hi]``.
    """
    x = (year - spec.mid_year) / spec.scale_years + spec.spread * np.asarray(z) + np.asarray(shift)
    return spec.lo + (spec.hi - spec.lo) / (1.0 + np.exp(-x))


def standardize(values: np.ndarray) -> np.ndarray:
    """z-scores with missing values set to 0 (the mean)."""
    v = np.asarray(values, float)
    mean, sd = np.nanmean(v), np.nanstd(v)
    z = (v - mean) / sd if sd > 0 else np.zeros_like(v)
    return np.nan_to_num(z)


def province_indices(provinces: pd.DataFrame, papi: pd.DataFrame) -> dict[str, np.ndarray]:
    """Standardized province indices used to spread the national trends.

    Args:
        provinces: indexed by gso_code with ``dti_2022_rank``.
        papi: ``province_papi_egov`` table (gso_code, year, internet_access, ...).

    Returns:
        ``{"internet": z, "egov": z}``, each of shape ``(n_provinces,)`` in ``provinces`` order.
    """
    first_year = papi.groupby("gso_code")["year"].transform("min")
    internet = papi[papi["year"] == first_year].set_index("gso_code")["internet_access"]
    z_internet = standardize(internet.reindex(provinces.index).to_numpy(float))
    z_egov = standardize(-provinces["dti_2022_rank"].to_numpy(float))
    return {"internet": z_internet, "egov": z_egov}


def electricity(
    hh_2016: np.ndarray,
    weights: np.ndarray,
    year: float,
    decay: float,
    ratio_urban: float,
    ratio_remote: float,
    extra_gap_cut: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Household electricity coverage by stratum.

    The unelectrified share of each province shrinks exponentially from its 2016 level
    (GSO/VHLSS); within a province the gap is split so urban : rural : remote gaps are
    ``ratio_urban : 1 : ratio_remote`` and the population-weighted gap equals the province gap.

    Args:
        hh_2016: share of households with electricity in 2016, shape ``(P,)``.
        weights: stratum population shares, shape ``(P, 3)``.
        year: decimal year.
        decay: yearly log-rate of gap shrinkage.
        ratio_urban: urban gap relative to rural.
        ratio_remote: remote gap relative to rural.
        extra_gap_cut: extra fraction of the remote and rural gap closed by a lever, ``(P,)`` or scalar.

    Returns:
        Coverage, shape ``(P, 3)`` in ``[0, 1]``.
    """
    gap = (1.0 - np.asarray(hh_2016, float)) * np.exp(-decay * max(year - 2016.5, 0.0))
    rel = np.array([ratio_urban, 1.0, ratio_remote])
    rural_gap = gap / (weights @ rel)
    gaps = np.minimum(rural_gap[:, None] * rel[None, :], 1.0)
    cut = np.broadcast_to(np.clip(np.asarray(extra_gap_cut, float), 0.0, 1.0), gap.shape)
    gaps[:, 1:] *= (1.0 - cut)[:, None]
    return 1.0 - gaps


Z_INDEX = {
    "mobile_remote": "internet",
    "fixed_urban": "internet",
    "fixed_rural": "internet",
    "fixed_remote": "internet",
    "device_adult": "internet",
    "supply_online": "egov",
    "supply_ministries": "egov",
    "supply_localities": "egov",
    "quality": "egov",
    "officials_trained": "egov",
    "interoperability": "egov",
    "assisted": "egov",
    "eid": "egov",
}


def baseline_logits(drivers, years: np.ndarray, z: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Logit ``x`` of every logistic trend for every month and province, before lever shifts.

    Args:
        drivers: :class:`~sim.config.DriversConfig`.
        years: decimal years of the months, ``(T,)``.
        z: province indices (:func:`province_indices`), each ``(P,)``.

    Returns:
        ``{trend name: (T, P)}``; the value is ``lo + (hi - lo) / (1 + exp(-(x + shift)))``.
    """
    out = {}
    for name, index in Z_INDEX.items():
        spec = getattr(drivers, name)
        out[name] = (np.asarray(years)[:, None] - spec.mid_year) / spec.scale_years + spec.spread * z[index][None, :]
    return out


def electricity_gaps(
    hh_2016: np.ndarray, weights: np.ndarray, years: np.ndarray, decay: float, ratio_urban: float, ratio_remote: float
) -> np.ndarray:
    """Unelectrified share by month, province and stratum, ``(T, P, 3)`` (see :func:`electricity`)."""
    return np.stack([1.0 - electricity(hh_2016, weights, float(y), decay, ratio_urban, ratio_remote) for y in years])
