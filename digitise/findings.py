"""QC findings: each check names itself, the page, what it measured and the rule it held it against."""

import enum
from dataclasses import asdict, dataclass
from typing import Any


class Severity(enum.StrEnum):
    error = "error"  # stops the dossier (DA/T 31 12.3: machine-checkable items must pass 100 %)
    warning = "warning"  # recorded with the dossier for the archivist to look at
    info = "info"  # recorded process facts (blank back, rotation applied)


@dataclass(frozen=True)
class Finding:
    code: str  # e.g. "resolution.below_minimum"
    severity: Severity
    message: str  # Chinese, for the archivist
    page: int | None = None  # 1-based page in scan order
    source: str | None = None  # input file name
    measured: Any = None
    rule: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.value if isinstance(v, Severity) else v) for k, v in asdict(self).items() if v is not None}


# What each check is called where a person reads it (the dossier page's 检查项); the code stays in the
# sidecar and, on the page, as a tooltip.
CHECK_NAMES = {
    "blank.page": "空白页",
    "catalogue.empty": "尚无卷内目录",
    "colour_mode.not_colour": "非彩色扫描",
    "input.corrupt": "文件损坏",
    "input.empty": "空文件",
    "input.encrypted": "文件加密",
    "input.format": "格式不支持",
    "input.missing": "文件缺失",
    "input.no_pages": "没有页面",
    "input.not_scanned": "非扫描件",
    "input.too_large": "图像过大",
    "misfiled.birth_date": "疑似他人材料（出生日期）",
    "misfiled.citizen_id": "疑似他人材料（身份证号）",
    "misfiled.name": "疑似他人材料（姓名）",
    "ocr.low_confidence": "识别置信度低",
    "orientation.turned": "方向已纠正",
    "page_count.mismatch": "页数与目录不符",
    "page_count.register": "页数与接收登记不符",
    "page_order.mismatch": "页面顺序不符",
    "resolution.below_minimum": "分辨率低于最低要求",
    "resolution.below_recommended": "分辨率低于建议值",
    "resolution.unknown": "分辨率未记录",
    "skew.residual": "纠偏后仍倾斜",
}


def check_name(code: str) -> str:
    return CHECK_NAMES.get(code, code)


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.error]


def report(findings: list[Finding]) -> str:
    """A readable report, errors first, for the terminal and the dossier page."""
    label = {Severity.error: "错误", Severity.warning: "警告", Severity.info: "记录"}
    lines = []
    for f in sorted(findings, key=lambda f: (list(Severity).index(f.severity), f.page or 0)):
        where = f"第{f.page}页 " if f.page else ""
        src = f"（{f.source}）" if f.source else ""
        lines.append(f"[{label[f.severity]}] {where}{f.message}{src} [{f.code}]")
    return "\n".join(lines)
