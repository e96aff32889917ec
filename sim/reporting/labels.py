"""Chart text in English and Vietnamese (NFC), and number/date formats for each language."""

from __future__ import annotations

import unicodedata

LABELS = {
    "en": {
        "ministries": "Ministries",
        "localities": "Localities (provinces)",
        "national": "National",
        "share_full": "Dossiers processed fully online",
        "share_citizens": "Adults who used online public services",
        "target": "Target",
        "observed": "Observed",
        "median": "Model median",
        "band90": "90 % range",
        "band50": "50 % range",
        "title_targets": "Fully online dossiers vs the 2025 targets",
        "title_usage": "Citizens using online public services",
        "title_ranking": "Provinces: local dossiers fully online in {year} (target {target})",
        "usage_12m": "used in the last 12 months",
        "usage_ytd": "used since January (year to date)",
        "hcmc": "Ho Chi Minh City",
        "year": "Year",
        "note_obs": "Observed: published figures (seeds/observations.csv); horizontal bars show the period each figure covers; definitions differ between sources (see seeds/README.md).",
        "note_run": "Scenario: {scenario}. {n} replicates, 1 agent = {scale} people. Bands: spread over replicates{draws}.",
        "draws": " and parameter draws",
        "share_of_dossiers": "Share of dossiers",
        "share_of_adults": "Share of adults",
    },
    "vi": {
        "ministries": "Bộ, ngành",
        "localities": "Địa phương (tỉnh)",
        "national": "Toàn quốc",
        "share_full": "Hồ sơ xử lý trực tuyến toàn trình",
        "share_citizens": "Người trưởng thành sử dụng dịch vụ công trực tuyến",
        "target": "Mục tiêu",
        "observed": "Số liệu công bố",
        "median": "Trung vị mô hình",
        "band90": "Khoảng 90 %",
        "band50": "Khoảng 50 %",
        "title_targets": "Tỷ lệ hồ sơ trực tuyến toàn trình so với mục tiêu 2025",
        "title_usage": "Người dân sử dụng dịch vụ công trực tuyến",
        "title_ranking": "Các tỉnh: hồ sơ địa phương trực tuyến toàn trình năm {year} (mục tiêu {target})",
        "usage_12m": "đã dùng trong 12 tháng qua",
        "usage_ytd": "đã dùng từ đầu năm",
        "hcmc": "TP. Hồ Chí Minh",
        "year": "Năm",
        "note_obs": "Số liệu công bố: seeds/observations.csv; vạch ngang là thời kỳ số liệu bao phủ; định nghĩa khác nhau giữa các nguồn (xem seeds/README.md).",
        "note_run": "Kịch bản: {scenario}. {n} lần mô phỏng, 1 tác tử = {scale} người. Dải: độ phân tán giữa các lần mô phỏng{draws}.",
        "draws": " và các bộ tham số",
        "share_of_dossiers": "Tỷ lệ hồ sơ",
        "share_of_adults": "Tỷ lệ người trưởng thành",
    },
}


REGIONS_VI = {
    "Red River Delta": "Đồng bằng sông Hồng",
    "Northern midlands and mountain areas": "Trung du và miền núi phía Bắc",
    "Northern Central area and Central coastal area": "Bắc Trung Bộ và duyên hải miền Trung",
    "Central Highlands": "Tây Nguyên",
    "South East": "Đông Nam Bộ",
    "Mekong River Delta": "Đồng bằng sông Cửu Long",
}


def region(name: str, lang: str) -> str:
    """GSO region name in ``lang``."""
    return unicodedata.normalize("NFC", REGIONS_VI.get(name, name)) if lang == "vi" else name


def label(key: str, lang: str, **fmt) -> str:
    """Label ``key`` in ``lang`` (NFC), formatted with ``fmt``."""
    text = LABELS[lang][key].format(**fmt) if fmt else LABELS[lang][key]
    return unicodedata.normalize("NFC", text)


def percent(x: float, lang: str, digits: int = 0) -> str:
    """A share in 0-1 as a percentage: ``17.5 %`` (en) or ``17,5 %`` (vi)."""
    text = f"{100.0 * x:.{digits}f}"
    return (text.replace(".", ",") if lang == "vi" else text) + " %"


def integer(n: float, lang: str) -> str:
    """Thousands separators: ``1,000`` (en) or ``1.000`` (vi)."""
    text = f"{n:,.0f}"
    return text.replace(",", ".") if lang == "vi" else text
