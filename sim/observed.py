"""Loading and validating the observed data in ``seeds/`` (a Frictionless-style data package).

``seeds/datapackage.json`` lists every table with its schema: column names and order, types,
required cells, ranges, patterns, allowed values, primary keys, and the foreign key from each row's
``source_id`` to ``sources.csv``. :func:`load_observed` checks all of it and stops at the first
problem with an :class:`ObservedDataError` whose one-line message names the file, the column and
row, and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)
SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"
N_PROVINCES = 63
YM = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ObservedDataError(ValueError):
    """A missing or malformed observed-data file (one-line message naming the file)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class ObservedData:
    """Validated observed data.

    Attributes:
        root: the folder loaded.
        tables: every tabular resource by name, typed per its schema.
        hashes: sha256 of every file of the package (relative path -> hex digest).
    """

    root: Path
    tables: dict
    hashes: dict

    @property
    def provinces(self) -> pd.DataFrame:
        """63 provinces indexed by 2-digit ``gso_code``, sorted."""
        return self.tables["provinces"].set_index("gso_code").sort_index()

    @property
    def observations(self) -> pd.DataFrame:
        """Every published figure (see ``seeds/README.md``)."""
        return self.tables["observations"]

    @property
    def targets(self) -> pd.DataFrame:
        """Official targets."""
        return self.tables["targets"]

    @property
    def sources(self) -> pd.DataFrame:
        """Sources cited by the other tables."""
        return self.tables["sources"]

    @property
    def merger(self) -> pd.DataFrame:
        """63 -> 34 crosswalk (codes)."""
        return self.tables["province_merger_2025"]

    @property
    def provinces_2025(self) -> pd.DataFrame:
        """The 34 provinces from July 2025, indexed by ``new_code_2025``."""
        return self.tables["provinces_2025"].set_index("new_code_2025").sort_index()

    def observation_series(self, indicator: str, scope: str | None = None) -> pd.DataFrame:
        """Rows of one indicator (optionally one scope), sorted by ``period_end``."""
        obs = self.observations
        rows = obs[obs["indicator"] == indicator]
        if scope is not None:
            rows = rows[rows["scope"] == scope]
        return rows.sort_values(["period_end", "period_start"]).reset_index(drop=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _convert(values: pd.Series, field: dict, where: str) -> pd.Series:
    """Convert one text column to its schema type and check its constraints."""
    name, typ = field["name"], field.get("type", "string")
    c = field.get("constraints", {})
    text = values.fillna("").astype(str).str.strip()
    empty = text == ""
    if c.get("required") and empty.any():
        row = int(empty.idxmax())
        raise ObservedDataError(f"{where}: column '{name}' row {row + 2}: empty cell; a value is required")
    if typ == "string":
        out = text.map(lambda s: unicodedata.normalize("NFC", s))
    elif typ == "boolean":
        bad = ~text.str.lower().isin(["true", "false", ""])
        if bad.any():
            row = int(bad.idxmax())
            raise ObservedDataError(f"{where}: column '{name}' row {row + 2}: '{text[row]}' is not a boolean; allowed: true, false")
        out = text.str.lower().map({"true": True, "false": False, "": pd.NA})
        out = out.astype("boolean")
    elif typ in ("integer", "number"):
        num = pd.to_numeric(text.where(~empty), errors="coerce")
        bad = num.isna() & ~empty
        if typ == "integer":
            bad |= num.notna() & (num % 1 != 0)
        if bad.any():
            row = int(bad.idxmax())
            raise ObservedDataError(f"{where}: column '{name}' row {row + 2}: '{text[row]}' is not a{'n integer' if typ == 'integer' else ' number'}")
        out = num.astype("Int64") if typ == "integer" else num.astype(float)
    else:
        raise ObservedDataError(f"{where}: column '{name}': unknown type '{typ}' in datapackage.json")
    present = out[~empty]
    for key, test, allowed in (("minimum", lambda v, m: v >= m, ">="), ("maximum", lambda v, m: v <= m, "<=")):
        if key in c and len(present):
            ok = test(present.astype(float), c[key])
            if not ok.all():
                row = int(ok.idxmin())
                raise ObservedDataError(f"{where}: column '{name}' row {row + 2}: value {text[row]} out of range; allowed {allowed} {c[key]}")
    if "enum" in c:
        bad = ~present.isin(c["enum"])
        if bad.any():
            row = int(bad.idxmax())
            raise ObservedDataError(f"{where}: column '{name}' row {row + 2}: '{text[row]}' is not allowed; allowed: {', '.join(map(str, c['enum']))}")
    if "pattern" in c:
        bad = ~present.astype(str).str.fullmatch(c["pattern"])
        if bad.any():
            row = int(bad.idxmax())
            raise ObservedDataError(f"{where}: column '{name}' row {row + 2}: '{text[row]}' does not match {c['pattern']}")
    if c.get("unique"):
        dup = present.duplicated()
        if dup.any():
            row = int(dup.idxmax())
            raise ObservedDataError(f"{where}: column '{name}' row {row + 2}: duplicate value '{text[row]}'; values must be unique")
    return out


def _read_table(root: Path, resource: dict) -> pd.DataFrame:
    path = root / resource["path"]
    where = f"seeds/{resource['path']}"
    if not path.is_file():
        raise ObservedDataError(f"{where}: file is missing (listed in seeds/datapackage.json)")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ObservedDataError(f"{where}: not a readable UTF-8 CSV ({str(exc).splitlines()[0]})") from None
    fields = resource["schema"]["fields"]
    expected = [f["name"] for f in fields]
    missing = [n for n in expected if n not in raw.columns]
    if missing:
        raise ObservedDataError(f"{where}: column '{missing[0]}' is missing; expected columns: {', '.join(expected)}")
    extra = [n for n in raw.columns if n not in expected]
    if extra:
        raise ObservedDataError(f"{where}: unexpected column '{extra[0]}'; expected columns: {', '.join(expected)}")
    table = pd.DataFrame({f["name"]: _convert(raw[f["name"]], f, where) for f in fields})
    pk = resource["schema"].get("primaryKey")
    if pk:
        dup = table.duplicated(subset=pk)
        if dup.any():
            row = int(dup.idxmax())
            raise ObservedDataError(f"{where}: row {row + 2}: duplicate key {tuple(table.loc[row, pk])} for primary key {pk}")
    return table


def _check_relations(tables: dict) -> None:
    known = set(tables["sources"]["source_id"])
    for name, table in tables.items():
        if "source_id" in table and name != "sources":
            bad = ~table["source_id"].isin(known)
            if bad.any():
                row = int(bad.idxmax())
                raise ObservedDataError(f"seeds/{name}.csv: column 'source_id' row {row + 2}: '{table['source_id'][row]}' "
                                        "is not in seeds/sources.csv")
    prov = tables["provinces"]
    if len(prov) != N_PROVINCES:
        raise ObservedDataError(f"seeds/provinces.csv: {len(prov)} provinces; exactly {N_PROVINCES} are required")
    codes = set(prov["gso_code"])
    merger, new = tables["province_merger_2025"], set(tables["provinces_2025"]["new_code_2025"])
    if set(merger["old_gso_code"]) != codes:
        missing = sorted(codes ^ set(merger["old_gso_code"]))
        raise ObservedDataError(f"seeds/province_merger_2025.csv: old codes differ from seeds/provinces.csv (e.g. '{missing[0]}'); "
                                "every old province must map exactly once")
    unknown = sorted(set(merger["new_code_2025"]) - new)
    if unknown or set(merger["new_code_2025"]) != new:
        code = (unknown or sorted(new - set(merger["new_code_2025"])))[0]
        raise ObservedDataError(f"seeds/province_merger_2025.csv: new code '{code}' does not match seeds/provinces_2025.csv")
    for name in ("province_electricity", "province_papi_egov", "province_population", "province_highland_island"):
        bad = ~tables[name]["gso_code"].isin(codes)
        if bad.any():
            row = int(bad.idxmax())
            raise ObservedDataError(f"seeds/{name}.csv: column 'gso_code' row {row + 2}: '{tables[name]['gso_code'][row]}' is not a province code")
    obs = tables["observations"]
    late = obs["period_start"] > obs["period_end"]
    if late.any():
        row = int(late.idxmax())
        raise ObservedDataError(f"seeds/observations.csv: row {row + 2}: period_start {obs['period_start'][row]} is after period_end "
                                f"{obs['period_end'][row]}; allowed: start <= end")


def load_observed(root: Path | str | None = None) -> ObservedData:
    """Load and validate the observed-data package.

    Args:
        root: folder holding ``datapackage.json`` (default: the repository's ``seeds/``).

    Raises:
        ObservedDataError: missing or malformed file, with a one-line message.
    """
    root = Path(root) if root else SEEDS_DIR
    descriptor = root / "datapackage.json"
    if not descriptor.is_file():
        raise ObservedDataError(f"seeds/datapackage.json: file is missing in {root}")
    try:
        package = json.loads(descriptor.read_text(encoding="utf-8"))
        resources = package["resources"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ObservedDataError(f"seeds/datapackage.json: malformed descriptor ({str(exc).splitlines()[0]})") from None
    tables, hashes = {}, {"datapackage.json": _sha256(descriptor)}
    for resource in resources:
        path = root / resource["path"]
        if "schema" not in resource:
            if not path.is_file():
                raise ObservedDataError(f"seeds/{resource['path']}: file is missing (listed in seeds/datapackage.json)")
        else:
            tables[resource["name"]] = _read_table(root, resource)
        hashes[resource["path"]] = _sha256(path)
    for needed in ("sources", "provinces", "province_papi_egov", "province_merger_2025", "provinces_2025", "observations", "targets"):
        if needed not in tables:
            raise ObservedDataError(f"seeds/datapackage.json: resource '{needed}' is not listed; it is required")
    _check_relations(tables)
    return ObservedData(root=root, tables=tables, hashes=hashes)
