"""Loading and validating the observed data in ``seeds/`` (a Frictionless-style data package).

``seeds/datapackage.json`` lists every file with its schema: column names and order, types
(``string``, ``integer``, ``number``, ``boolean``), required cells, ranges, allowed values,
patterns, uniqueness, primary keys and foreign keys (every ``source_id`` resolves to
``sources.csv``). :func:`load_observed` reads every CSV as text, converts it per schema, checks all
of it plus a few cross-table rules (the 63 province codes, the 63 -> 34 merger, observation periods
and shares, modelled targets) and stops at the first problem with an :class:`ObservedDataError`
whose one-line message names the file, the column and row, and what is allowed, e.g.
``seeds/provinces.csv: column 'urban_share_2019' row 14 (gso_code 22): value 1.3 out of range [0, 1]``
(rows are counted from 1 after the header; the primary key of the row is given in brackets).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

SEEDS_DIR: Path = Path(__file__).resolve().parents[1] / "seeds"
PROVINCE_CODES: tuple[str, ...] = tuple(
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 44 45 46 48 49 51 52 54 56 58 "
    "60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 89 91 92 93 94 95 96".split()
)
TYPES = ("string", "integer", "number", "boolean")
CONSTRAINTS = ("required", "minimum", "maximum", "enum", "pattern", "unique")
YEAR_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
INTEGER = re.compile(r"[+-]?\d+")
MODELLED_SCOPES = {
    "share_dossiers_full_online": {"ministries", "localities", "national"},
    "share_citizens_using_ops": {"national"},
}
# resources and the columns the model code relies on
NEEDED = {
    "sources": ["source_id", "citation"],
    "provinces": [
        "gso_code",
        "name_vi",
        "slug",
        "region_gso6",
        "pop_census2019",
        "urban_share_2019",
        "is_mountain_region_proxy",
        "ethnic_minority_share",
        "n_island_districts",
        "hh_electricity_2016",
        "dti_2022_rank",
        "new_code_2025",
    ],
    "province_papi_egov": ["gso_code", "year", "internet_access"],
    "provinces_2025": ["new_code_2025", "name_vi"],
    "province_merger_2025": ["old_gso_code", "new_code_2025"],
    "observations": ["indicator", "scope", "period_start", "period_end", "value", "share", "series"],
    "targets": ["target_id", "indicator", "scope", "deadline", "threshold", "modelled"],
}


class ObservedDataError(ValueError):
    """A missing or malformed observed-data file; the message is one line naming the file."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class ObservedData:
    """Validated observed data.

    Attributes:
        root: the folder that was loaded.
        tables: every tabular resource by name, typed per its schema (text as ``str``, codes as
            2-digit strings, booleans as ``bool``, optional integers as nullable ``Int64``).
        hashes: relative path -> sha256 of every file listed in ``datapackage.json`` and of the
            descriptor itself.
    """

    root: Path
    tables: dict[str, pd.DataFrame]
    hashes: dict[str, str]

    @property
    def provinces(self) -> pd.DataFrame:
        """The 63 provinces indexed by 2-digit ``gso_code``, sorted."""
        return self.tables["provinces"].set_index("gso_code").sort_index()

    @property
    def observations(self) -> pd.DataFrame:
        """Every published figure, one row each (see ``seeds/README.md``)."""
        return self.tables["observations"]

    @property
    def targets(self) -> pd.DataFrame:
        """Official targets; ``modelled`` marks those the model reports."""
        return self.tables["targets"]

    @property
    def sources(self) -> pd.DataFrame:
        """Sources cited by the other tables."""
        return self.tables["sources"]

    @property
    def merger(self) -> pd.DataFrame:
        """Crosswalk from the 63 old province codes to the 34 codes of July 2025."""
        return self.tables["province_merger_2025"]

    @property
    def provinces_2025(self) -> pd.DataFrame:
        """The 34 provinces from 1 July 2025, indexed by 2-digit ``new_code_2025``, sorted."""
        return self.tables["provinces_2025"].set_index("new_code_2025").sort_index()

    def observation_series(self, indicator: str, scope: str | None = None) -> pd.DataFrame:
        """Observations of one indicator (optionally one scope), sorted by ``period_end``.

        Args:
            indicator: e.g. ``"share_dossiers_full_online"``.
            scope: e.g. ``"localities"`` or ``"79"``; all scopes when omitted.

        Returns:
            The matching rows (possibly none), sorted by period end then start.
        """
        obs = self.observations
        rows = obs[obs["indicator"] == indicator]
        if scope is not None:
            rows = rows[rows["scope"] == scope]
        return rows.sort_values(["period_end", "period_start"], kind="stable").reset_index(drop=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fail(where: str, column: str | None, row: int | None, key: str, message: str) -> ObservedDataError:
    parts = [where + ":"]
    if column is not None:
        parts.append(f"column '{column}'")
    if row is not None:
        parts.append(f"row {row + 1}" + (f" ({key})" if key else ""))
    return ObservedDataError(" ".join(parts) + ": " + message)


class _Table:
    """One CSV being checked: raw text cells plus what is needed to name a failing row."""

    def __init__(self, where: str, raw: pd.DataFrame, pk: list[str]) -> None:
        self.where, self.raw, self.pk = where, raw, pk

    def key(self, row: int) -> str:
        cols = [c for c in self.pk if c in self.raw.columns]
        return ", ".join(f"{c} {self.raw[c].iat[row]}" for c in cols)

    def fail(self, column: str | None, row: int | None, message: str) -> ObservedDataError:
        return _fail(self.where, column, row, self.key(row) if row is not None else "", message)


def _parse(text: str, typ: str) -> object:
    """Parse one non-empty cell; raise ValueError when it is not of ``typ``."""
    if typ == "integer":
        if not INTEGER.fullmatch(text.strip()):
            raise ValueError
        return int(text)
    if typ == "number":
        value = float(text)
        if not math.isfinite(value):
            raise ValueError
        return value
    if typ == "boolean":
        return {"true": True, "false": False}[text.strip()]
    return text


def _convert(table: _Table, field: dict) -> pd.Series:
    """Convert one text column to its schema type and check its constraints."""
    name, typ, c = field["name"], field["type"], field.get("constraints", {})
    values: list[object] = []
    for i, text in enumerate(table.raw[name]):
        if text.strip() == "":
            if c.get("required", False):
                raise table.fail(name, i, "empty cell; a value is required")
            values.append(None)
            continue
        try:
            value = _parse(text, typ)
        except (ValueError, KeyError):
            allowed = {"boolean": "true or false", "integer": "a whole number"}.get(typ, f"a {typ}")
            raise table.fail(name, i, f"value '{text}' is not {allowed}") from None
        if typ == "string" and unicodedata.normalize("NFC", text) != text:
            raise table.fail(name, i, f"value '{text}' is not Unicode NFC")
        lo, hi = c.get("minimum"), c.get("maximum")
        if typ in ("integer", "number") and ((lo is not None and value < lo) or (hi is not None and value > hi)):
            bounds = f"[{lo}, {hi}]" if lo is not None and hi is not None else f">= {lo}" if hi is None else f"<= {hi}"
            raise table.fail(name, i, f"value {text} out of range {bounds}")
        if "enum" in c and value not in c["enum"]:
            raise table.fail(name, i, f"value '{text}' not allowed; allowed: {', '.join(map(str, c['enum']))}")
        if "pattern" in c and not re.fullmatch(c["pattern"], text):
            raise table.fail(name, i, f"value '{text}' does not match the pattern {c['pattern']}")
        values.append(value)
    if c.get("unique"):
        seen: dict[object, int] = {}
        for i, value in enumerate(values):
            if value is not None and value in seen:
                raise table.fail(
                    name,
                    i,
                    f"duplicate value '{table.raw[name].iat[i]}' (also row {seen[value] + 1}); values must be unique",
                )
            seen.setdefault(value, i)
    required = c.get("required", False)
    dtype = {
        "string": "str",
        "number": "float64",
        "integer": "int64" if required else "Int64",
        "boolean": "bool" if required else "boolean",
    }[typ]
    return pd.Series(values, dtype=dtype, name=name)


def _read_table(root: Path, label: str, resource: dict) -> pd.DataFrame:
    """Read one CSV resource as text, check its header and convert every column."""
    where = f"{label}/{resource['path']}"
    schema = resource["schema"]
    try:
        raw = pd.read_csv(root / resource["path"], dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ObservedDataError(f"{where}: not valid UTF-8 ({exc.reason}); files must be UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ObservedDataError(f"{where}: not a readable CSV ({str(exc).strip()})") from None
    raw = raw.fillna("")
    expected = [f["name"] for f in schema["fields"]]
    header = [str(h) for h in raw.columns]
    missing = [n for n in expected if n not in header]
    extra = [n for n in header if n not in expected]
    if missing or extra:
        detail = "; ".join(
            filter(
                None,
                [
                    f"missing column(s) {', '.join(map(repr, missing))}" if missing else "",
                    f"unexpected column(s) {', '.join(map(repr, extra))}" if extra else "",
                ],
            )
        )
        raise ObservedDataError(f"{where}: {detail}; expected columns: {', '.join(expected)}")
    if header != expected:
        raise ObservedDataError(f"{where}: columns out of order; expected: {', '.join(expected)}")
    pk = schema.get("primaryKey") or []
    table = _Table(where, raw, pk)
    out = pd.DataFrame({f["name"]: _convert(table, f) for f in schema["fields"]})
    if pk:
        dup = out.duplicated(subset=pk, keep="first")
        if dup.any():
            i = int(dup.to_numpy().argmax())
            raise table.fail(None, i, f"duplicate primary key ({', '.join(pk)}); each key must appear once")
    return out


def _check_descriptor(package: object, label: str) -> list[dict]:
    """Check the descriptor's structure; return its resources."""
    where = f"{label}/datapackage.json"
    if not isinstance(package, dict) or not isinstance(package.get("resources"), list) or not package["resources"]:
        raise ObservedDataError(f"{where}: malformed descriptor; expected an object with a non-empty 'resources' list")
    names: set[str] = set()
    for i, res in enumerate(package["resources"]):
        if not isinstance(res, dict) or not isinstance(res.get("name"), str) or not isinstance(res.get("path"), str):
            raise ObservedDataError(f"{where}: resource {i + 1} malformed; 'name' and 'path' (strings) are required")
        if res["name"] in names:
            raise ObservedDataError(f"{where}: resource name '{res['name']}' listed twice; names must be unique")
        if Path(res["path"]).is_absolute() or ".." in Path(res["path"]).parts:
            raise ObservedDataError(
                f"{where}: resource '{res['name']}' path '{res['path']}' must be relative to the package folder"
            )
        names.add(res["name"])
        schema = res.get("schema")
        if schema is None:
            continue
        fields = schema.get("fields") if isinstance(schema, dict) else None
        if not isinstance(fields, list) or not fields:
            raise ObservedDataError(f"{where}: resource '{res['name']}' schema needs a non-empty 'fields' list")
        for f in fields:
            if not isinstance(f, dict) or not isinstance(f.get("name"), str) or f.get("type") not in TYPES:
                raise ObservedDataError(
                    f"{where}: resource '{res['name']}' field {f!r} malformed; "
                    f"needs a name and a type in {', '.join(TYPES)}"
                )
            bad = set(f.get("constraints", {})) - set(CONSTRAINTS)
            if bad:
                raise ObservedDataError(
                    f"{where}: resource '{res['name']}' field '{f['name']}' has unknown "
                    f"constraint(s) {', '.join(sorted(bad))}; allowed: {', '.join(CONSTRAINTS)}"
                )
        field_names = [f["name"] for f in fields]
        unknown = [k for k in schema.get("primaryKey") or [] if k not in field_names]
        if unknown:
            raise ObservedDataError(f"{where}: resource '{res['name']}' primaryKey field '{unknown[0]}' is not a field")
    for name, columns in NEEDED.items():
        res = next((r for r in package["resources"] if r["name"] == name), None)
        if res is None or "schema" not in res:
            raise ObservedDataError(f"{where}: resource '{name}' (with a schema) is required but not listed")
        have = [f["name"] for f in res["schema"]["fields"]]
        lacking = [c for c in columns if c not in have]
        if lacking:
            raise ObservedDataError(
                f"{where}: resource '{name}' lacks field(s) {', '.join(lacking)} needed by the model"
            )
    return package["resources"]


def _check_foreign_keys(resources: list[dict], tables: dict[str, pd.DataFrame], label: str) -> None:
    """Every foreign-key value must exist in the referenced resource's field."""
    for res in resources:
        for fk in (res.get("schema") or {}).get("foreignKeys") or []:
            ref = fk.get("reference", {})
            target, field, ref_field = ref.get("resource"), fk.get("fields"), ref.get("fields")
            field = field[0] if isinstance(field, list) else field
            ref_field = ref_field[0] if isinstance(ref_field, list) else ref_field
            if target not in tables or ref_field not in tables[target]:
                raise ObservedDataError(
                    f"{label}/datapackage.json: resource '{res['name']}' foreign key refers to "
                    f"unknown '{target}.{ref_field}'"
                )
            table = tables[res["name"]]
            known = set(tables[target][ref_field].dropna())
            bad = table[field].notna() & ~table[field].isin(known)
            if bad.any():
                i = int(bad.to_numpy().argmax())
                t = _Table(f"{label}/{res['path']}", table.astype(str), (res["schema"].get("primaryKey") or []))
                path = next(r["path"] for r in resources if r["name"] == target)
                raise t.fail(
                    field, i, f"value '{table[field].iat[i]}' not found in {label}/{path} column '{ref_field}'"
                )


def _check_domain(tables: dict[str, pd.DataFrame], paths: dict[str, str], label: str) -> None:
    """Cross-table rules: province codes, the 2025 merger, observation periods, modelled targets."""
    where = {name: f"{label}/{path}" for name, path in paths.items()}
    codes = set(tables["provinces"]["gso_code"])
    missing, extra = sorted(set(PROVINCE_CODES) - codes), sorted(codes - set(PROVINCE_CODES))
    if missing or extra or len(tables["provinces"]) != len(PROVINCE_CODES):
        raise ObservedDataError(
            f"{where['provinces']}: column 'gso_code': {len(tables['provinces'])} rows, "
            f"missing codes {missing or 'none'}, unexpected codes {extra or 'none'}; "
            "exactly the 63 pre-July-2025 GSO codes are allowed"
        )
    for name, table in tables.items():
        for col in ("gso_code", "old_gso_code"):
            if col in table and name != "provinces":
                bad = ~table[col].isin(codes)
                if bad.any():
                    i = int(bad.to_numpy().argmax())
                    raise _fail(
                        where[name],
                        col,
                        i,
                        "",
                        f"value '{table[col].iat[i]}' is not one of the 63 province codes in {where['provinces']}",
                    )
    merger, new = tables["province_merger_2025"], tables["provinces_2025"]
    old = merger["old_gso_code"]
    if old.duplicated().any() or set(old) != codes:
        dup = sorted(set(old[old.duplicated()]))
        raise ObservedDataError(
            f"{where['province_merger_2025']}: column 'old_gso_code': duplicated "
            f"{dup or 'none'}, missing {sorted(codes - set(old)) or 'none'}; "
            "every old province must map exactly once"
        )
    new_codes = set(new["new_code_2025"])
    for i, code in enumerate(merger["new_code_2025"]):
        if code not in new_codes:
            raise _fail(
                where["province_merger_2025"],
                "new_code_2025",
                i,
                f"old_gso_code {old.iat[i]}",
                f"value '{code}' not found in {where['provinces_2025']}",
            )
    unused = sorted(new_codes - set(merger["new_code_2025"]))
    if unused:
        raise ObservedDataError(
            f"{where['provinces_2025']}: column 'new_code_2025': {unused} receive no old "
            f"province in {where['province_merger_2025']}; every new province must appear"
        )
    mapping = dict(zip(old, merger["new_code_2025"], strict=True))
    prov = tables["provinces"]
    for i, (code, new_code) in enumerate(zip(prov["gso_code"], prov["new_code_2025"], strict=True)):
        if mapping[code] != new_code:
            raise _fail(
                where["provinces"],
                "new_code_2025",
                i,
                f"gso_code {code}",
                f"value '{new_code}' differs from {where['province_merger_2025']} ('{mapping[code]}')",
            )
    obs = tables["observations"]
    key = obs["obs_id"] if "obs_id" in obs else pd.Series(range(len(obs)))
    for i, (start, end, share) in enumerate(zip(obs["period_start"], obs["period_end"], obs["share"], strict=True)):
        for col, value in (("period_start", start), ("period_end", end)):
            if not isinstance(value, str) or not YEAR_MONTH.fullmatch(value):
                raise _fail(where["observations"], col, i, f"obs_id {key.iat[i]}", f"value '{value}' is not YYYY-MM")
        if start > end:
            raise _fail(
                where["observations"],
                "period_start",
                i,
                f"obs_id {key.iat[i]}",
                f"value {start} is after period_end {end}; allowed: period_start <= period_end",
            )
        if pd.notna(share) and not 0.0 <= share <= 1.0:
            raise _fail(where["observations"], "share", i, f"obs_id {key.iat[i]}", f"value {share} out of range [0, 1]")
        value, unit = obs["value"].iat[i], str(obs["unit"].iat[i])
        if pd.notna(share) and unit.startswith("%") and not abs(float(value) / 100.0 - share) <= 5e-5:
            raise _fail(
                where["observations"],
                "share",
                i,
                f"obs_id {key.iat[i]}",
                f"value {share} disagrees with value {value} ({unit}); allowed: share = value / 100",
            )
    tg = tables["targets"]
    for i, r in enumerate(tg.itertuples(index=False)):
        if not r.modelled:
            continue
        allowed = MODELLED_SCOPES.get(r.indicator)
        if allowed is None or r.scope not in allowed:
            raise _fail(
                where["targets"],
                "modelled",
                i,
                f"target_id {r.target_id}",
                "a modelled target must be on share_dossiers_full_online (ministries, localities, "
                f"national) or share_citizens_using_ops (national), not {r.indicator} ({r.scope})",
            )
        if not isinstance(r.deadline, str) or not YEAR_MONTH.fullmatch(r.deadline) or not 0.0 <= r.threshold <= 1.0:
            raise _fail(
                where["targets"],
                "deadline",
                i,
                f"target_id {r.target_id}",
                "a modelled target needs a YYYY-MM deadline and a threshold in [0, 1]",
            )


def load_observed(root: Path | str | None = None) -> ObservedData:
    """Load and validate the observed-data package.

    Args:
        root: folder holding ``datapackage.json`` (default: the repository's ``seeds/``).

    Returns:
        The validated :class:`ObservedData`.

    Raises:
        ObservedDataError: a missing, malformed or inconsistent file; the one-line message names
            the file (as ``<folder>/<path>``, ``seeds/<path>`` for the shipped data), the column and
            row, and what is allowed.
    """
    root = Path(root) if root else SEEDS_DIR
    label = "seeds" if root.resolve() == SEEDS_DIR.resolve() else str(root)  # as the user gave the folder
    descriptor = root / "datapackage.json"
    if not descriptor.is_file():
        what = "no datapackage.json in it" if root.is_dir() else "not a folder" if root.exists() else "no such folder"
        raise ObservedDataError(
            f"observed_dir: {root}: {what}; allowed: a data folder like seeds/ "
            f"({label}/datapackage.json: file not found)"
        )
    try:
        package = json.loads(descriptor.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ObservedDataError(f"{label}/datapackage.json: not valid UTF-8 ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ObservedDataError(
            f"{label}/datapackage.json: malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    resources = _check_descriptor(package, label)
    hashes = {"datapackage.json": _sha256(descriptor)}
    tables: dict[str, pd.DataFrame] = {}
    for res in resources:
        path = root / res["path"]
        if not path.is_file():
            raise ObservedDataError(
                f"{label}/{res['path']}: file not found (listed in {label}/datapackage.json as '{res['name']}')"
            )
        hashes[res["path"]] = _sha256(path)
        if "schema" in res:
            tables[res["name"]] = _read_table(root, label, res)
    _check_foreign_keys(resources, tables, label)
    _check_domain(tables, {r["name"]: r["path"] for r in resources}, label)
    log.info("observed data: %d tables, %d files from %s", len(tables), len(hashes), root)
    return ObservedData(root=root, tables=tables, hashes=hashes)
