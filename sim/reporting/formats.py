"""Number, money and date formats for briefings in English and Vietnamese.

Vietnamese usage (the style of government reports): decimal comma, point as the thousands
separator, a space before the percent sign, money in "tỷ đồng" (10^9 VND) or "nghìn tỷ đồng"
(10^12 VND), months as "12/2025" or "tháng 12/2025". English: decimal point,
comma thousands, "70.5 %", "VND 1,234 billion", "Dec 2025". Every string is NFC.
"""

from __future__ import annotations

import math
import unicodedata

from sim.errors import SimInputError

LANGS = ("en", "vi")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def check_lang(lang: str, key: str = "reporting.lang") -> str:
    """Return ``lang`` if it is a chart language, else raise a one-line :class:`SimInputError`."""
    if lang not in LANGS:
        raise SimInputError(f"{key}: '{lang}' is not allowed; allowed: {', '.join(LANGS)}")
    return lang


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def number(x: float, lang: str, digits: int = 0) -> str:
    """A number with thousands separators: ``1,234.5`` (en) or ``1.234,5`` (vi); NaN gives ``–``."""
    check_lang(lang, "lang")
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    text = f"{x:,.{digits}f}"
    if lang == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return _nfc(text)


def integer(n: float, lang: str) -> str:
    """A whole number with thousands separators: ``1,000`` (en) or ``1.000`` (vi)."""
    return number(round(n), lang, 0)


def percent(x: float, lang: str, digits: int = 0) -> str:
    """A share in 0-1 as a percentage: ``70.5 %`` (en) or ``70,5 %`` (vi)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return number(100.0 * x, lang, digits) + " %"


def points(x: float, lang: str, digits: int = 1) -> str:
    """A difference of shares in percentage points: ``+3.2 pp`` (en) or ``+3,2 điểm %`` (vi)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    sign = "+" if x > 0 else ("−" if x < 0 else "")
    unit = " điểm %" if lang == "vi" else " pp"
    return _nfc(sign + number(abs(x), lang, digits) + unit)


def money_vnd(vnd: float, lang: str, digits: int = 0, unit: str = "billion") -> str:
    """An amount in VND in briefing units.

    Example: ``1.234e12`` -> ``"1.234 tỷ đồng"`` (vi) / ``"VND 1,234 billion"`` (en); with
    ``unit="trillion"`` and one digit ``"1,2 nghìn tỷ đồng"`` / ``"VND 1.2 trillion"``.

    Args:
        vnd: amount in VND.
        lang: ``en`` or ``vi``.
        digits: decimals shown.
        unit: ``billion`` (10^9 VND, "tỷ đồng") or ``trillion`` (10^12 VND, "nghìn tỷ đồng").
    """
    units = {"billion": (1e9, "tỷ đồng"), "trillion": (1e12, "nghìn tỷ đồng")}
    if unit not in units:
        raise SimInputError(f"unit: '{unit}' is not allowed; allowed: billion, trillion")
    if vnd is None or (isinstance(vnd, float) and math.isnan(vnd)):
        return "–"
    size, unit_vi = units[unit]
    if lang == "vi":
        return _nfc(f"{number(vnd / size, lang, digits)} {unit_vi}")
    return f"VND {number(vnd / size, lang, digits)} {unit}"


def month(ym: str, lang: str, long: bool = False) -> str:
    """A ``YYYY-MM`` month: ``Dec 2025`` (en); ``12/2025`` or, with ``long``, ``tháng 12/2025`` (vi)."""
    check_lang(lang, "lang")
    try:
        year, mon = int(ym[:4]), int(ym[5:7])
        if len(ym) != 7 or ym[4] != "-" or not 1 <= mon <= 12:
            raise ValueError
    except (ValueError, TypeError):
        raise SimInputError(f"date: '{ym}' is not a month; allowed: YYYY-MM") from None
    if lang == "vi":
        return _nfc(f"{'tháng ' if long else ''}{mon}/{year}")
    return f"{MONTHS_EN[mon - 1]} {year}"
