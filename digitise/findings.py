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
