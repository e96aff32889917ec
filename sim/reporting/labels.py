"""Chart text in English and Vietnamese (NFC); number and date formats live in :mod:`sim.reporting.formats`."""

from __future__ import annotations

import re
import unicodedata

from sim.reporting.formats import integer, percent  # noqa: F401  (re-exported for chart code)

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
        "selection": "The {n} simulated provinces",
        "note_selection": "This run simulates {n} provinces ({codes}): its totals are theirs, so the published national figures are not shown.",
        "note_monthly": "Lines and bands: monthly shares; a target is met when the whole year's share reaches it (targets.csv).",
        "map_scale": "Colours: red below the target, green above it, each side on its own scale. Differences between provinces: the province_ranking chart.",
        "note_ranking": "Bars: median over replicates of the share of the province's local dossiers processed fully online over the whole of {year}; whiskers: 90\u00a0% range over replicates{draws}. Colours: GSO regions.",
        "note_run_plain": "Scenario: {scenario}. {n} replicates{draws}, 1 agent = {scale} people.",
        "draws_across": " across parameter draws",
        "share_of_dossiers": "Share of dossiers",
        "share_of_adults": "Share of adults",
        "map_grey": "Grey: province not simulated in this run.",
        "title_map63": "Local dossiers fully online in {year}: 63 provinces (before July 2025)",
        "title_map34": "Local dossiers fully online in {year}: 34 provinces (from July 2025)",
        "map_value": "Median share of local dossiers fully online, {year}",
        "title_bottleneck": "Where local dossiers fall short of fully online, {year} ({n} provinces)",
        "stage_full_online": "Fully online",
        "stage_access": "Access (electricity, connectivity, device)",
        "stage_supply": "Service supply (not offered online or not fully online)",
        "stage_backoffice": "Back office (not completed online)",
        "stage_demand": "Citizen demand (unaware or chose paper)",
        "note_bottleneck": "Each dossier is counted at the first step it fails: offered online → access → aware → chooses online → offered fully online → completed online by the back office. Bars: mean share over replicates; the gap is the distance from the green bar to the target line.",
        "title_compare_fan": "Fully online dossiers by scenario vs the 2025 targets",
        "title_compare": "Scenarios compared, {year}",
        "p_met": "Probability the target is met",
        "p_met_interval": "95 % interval (Monte-Carlo error only)",
        "cost_axis": "Central cost of the levers over the run ({unit})",
        "gain_axis": "Gain over baseline in {year}\n(percentage points)",
        "trillion_vnd": "trillion VND",
        "note_compare": "Left: bars = probability that the target is met (value above each bar), whiskers = its 95 % interval. Right: gain = the scenario's median share minus the baseline's ({baseline}), in percentage points, against the central cost of its levers over the whole run (costs.csv; to Dec 2030 with the default timeline). comparison.csv also gives the gain per trillion VND.",
        "note_compare_fan": "Lines: median over runs (replicates, and parameter draws where there are any; the baseline dashed, drawn on top: where a scenario's line is hidden, it equals the baseline); bands: 90\u00a0% range over runs. Monthly shares; a target is met when the whole year's share reaches it.",
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
        "selection": "{n} tỉnh được mô phỏng",
        "note_selection": "Lần chạy này mô phỏng {n} tỉnh ({codes}): các tổng là của các tỉnh này, nên không vẽ số liệu công bố toàn quốc.",
        "note_monthly": "Đường và dải: tỷ lệ theo tháng; mục tiêu đạt khi tỷ lệ của cả năm đạt ngưỡng (targets.csv).",
        "map_scale": "Màu: đỏ dưới mục tiêu, xanh trên mục tiêu, mỗi phía một thang riêng. So sánh giữa các tỉnh: biểu đồ province_ranking.",
        "note_ranking": "Thanh: trung vị giữa các lần mô phỏng của tỷ lệ hồ sơ địa phương của tỉnh được xử lý trực tuyến toàn trình trong cả năm {year}; vạch: khoảng 90\u00a0% giữa các lần mô phỏng{draws}. Màu: vùng (GSO).",
        "note_run_plain": "Kịch bản: {scenario}. {n} lần mô phỏng{draws}, 1 tác tử = {scale} người.",
        "draws_across": " trên các bộ tham số",
        "share_of_dossiers": "Tỷ lệ hồ sơ",
        "share_of_adults": "Tỷ lệ người trưởng thành",
        "map_grey": "Màu xám: tỉnh không được mô phỏng trong lần chạy này.",
        "title_map63": "Hồ sơ địa phương trực tuyến toàn trình năm {year}: 63 tỉnh (trước tháng 7/2025)",
        "title_map34": "Hồ sơ địa phương trực tuyến toàn trình năm {year}: 34 tỉnh (từ tháng 7/2025)",
        "map_value": "Trung vị tỷ lệ hồ sơ địa phương trực tuyến toàn trình, năm {year}",
        "title_bottleneck": "Hồ sơ địa phương chưa trực tuyến toàn trình dừng ở đâu, năm {year} ({n} tỉnh)",
        "stage_full_online": "Trực tuyến toàn trình",
        "stage_access": "Tiếp cận (điện, kết nối, thiết bị)",
        "stage_supply": "Cung cấp dịch vụ (chưa trực tuyến hoặc chưa toàn trình)",
        "stage_backoffice": "Xử lý phía cơ quan (chưa hoàn thành trực tuyến)",
        "stage_demand": "Nhu cầu người dân (chưa biết hoặc chọn nộp giấy)",
        "note_bottleneck": "Mỗi hồ sơ được tính ở bước đầu tiên không đạt: có dịch vụ trực tuyến → tiếp cận → biết đến → chọn trực tuyến → có dịch vụ toàn trình → cơ quan hoàn thành trực tuyến. Thanh: tỷ lệ trung bình giữa các lần mô phỏng; khoảng cách là phần từ thanh xanh đến vạch mục tiêu.",
        "title_compare_fan": "Hồ sơ trực tuyến toàn trình theo kịch bản so với mục tiêu 2025",
        "title_compare": "So sánh các kịch bản, năm {year}",
        "p_met": "Xác suất đạt mục tiêu",
        "p_met_interval": "Khoảng 95 % (chỉ sai số Monte-Carlo)",
        "cost_axis": "Chi phí ước tính mức giữa của các giải pháp trong cả thời gian mô phỏng ({unit})",
        "gain_axis": "Mức tăng so với kịch bản cơ sở\nnăm {year} (điểm phần trăm)",
        "trillion_vnd": "nghìn tỷ đồng",
        "note_compare": "Trái: cột = xác suất đạt mục tiêu (giá trị ghi trên mỗi cột), vạch = khoảng 95 %. Phải: mức tăng = trung vị của kịch bản trừ trung vị của kịch bản cơ sở ({baseline}), tính bằng điểm phần trăm, so với chi phí ước tính mức giữa của các giải pháp trong cả thời gian mô phỏng (costs.csv; đến tháng 12/2030 với mốc thời gian mặc định). comparison.csv có thêm mức tăng trên mỗi nghìn tỷ đồng.",
        "note_compare_fan": "Đường: trung vị giữa các lần mô phỏng (kịch bản cơ sở là nét đứt, vẽ trên cùng: nơi không thấy đường của một kịch bản là nơi kịch bản đó trùng với kịch bản cơ sở); dải: khoảng 90\u00a0%. Tỷ lệ theo tháng; mục tiêu đạt khi tỷ lệ của cả năm đạt ngưỡng.",
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
    """Label ``key`` in ``lang`` (NFC), formatted with ``fmt``. In the notes under charts, which
    wrap, a number and its ``%`` are joined by a no-break space, so a line never ends in ``90``."""
    text = LABELS[lang][key].format(**fmt) if fmt else LABELS[lang][key]
    if key.startswith("note_"):
        text = re.sub(r"(\d) %", "\\1\u00a0%", text)
    return unicodedata.normalize("NFC", text)
