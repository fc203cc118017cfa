"""The dossier's catalogue (卷内目录) as digitisation needs it, and the linkage of pages to materials (数据挂接).

Blank backs: counting practice differs (some bureaus number blank backs, most do not), so a
catalogue whose page total equals the scanned pages is linked page for page, and one whose total
equals the pages that carry content is linked with each blank back going to the material it
follows. Any other total is a count mismatch, a hard failure (DA/T 31 11.2, 12.3).
"""

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from digitise.findings import Finding, Severity


@dataclass(frozen=True)
class CatalogueEntry:
    sequence: str  # 类号-份号, e.g. "4-1-1"
    class_code: str  # "4-1"
    class_name: str  # "第四类 学历和评聘专业技术职务（职称）材料"
    title: str
    pages: int


@dataclass(frozen=True)
class RetireeFacts:
    """What the dossier says about its person, to catch pages filed in the wrong file."""

    name: str
    citizen_id: str
    birth_date: date | None = None


@dataclass(frozen=True)
class Catalogue:
    archival_code: str
    entries: tuple[CatalogueEntry, ...] = ()
    retiree: RetireeFacts | None = None

    @property
    def total_pages(self) -> int:
        return sum(e.pages for e in self.entries)

    @classmethod
    def from_json(cls, path: Path) -> "Catalogue":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Catalogue":
        retiree = data.get("retiree")
        entries = []
        for i, m in enumerate(data.get("materials", []), start=1):
            for key in ("sequence", "class_code", "title", "pages"):
                if key not in m:
                    raise ValueError(f"catalogue.materials[{i}].{key}: 缺少此项")
            if not isinstance(m["pages"], int) or m["pages"] < 1:
                raise ValueError(f"catalogue.materials[{i}].pages: 页数应为正整数，实为 {m['pages']!r}")
            entries.append(
                CatalogueEntry(
                    m["sequence"], m["class_code"], m.get("class_name", m["class_code"]), m["title"], m["pages"]
                )
            )
        return cls(
            archival_code=data["archival_code"],
            entries=tuple(entries),
            retiree=RetireeFacts(
                retiree["name"],
                retiree["citizen_id"],
                date.fromisoformat(retiree["birth_date"]) if retiree.get("birth_date") else None,
            )
            if retiree
            else None,
        )


@dataclass(frozen=True)
class MaterialPages:
    sequence: str
    class_code: str
    class_name: str
    title: str
    first_page: int  # 1-based, in the PDF
    last_page: int


def link_pages(catalogue: Catalogue, blank: list[bool]) -> tuple[list[MaterialPages], list[Finding]]:
    """Give every catalogue entry its page range, or say why the counts do not agree."""
    if not catalogue.entries:
        return [], []
    scanned, content = len(blank), blank.count(False)
    declared = catalogue.total_pages
    if declared == scanned:
        counts_blank = True
    elif declared == content:
        counts_blank = False
    else:
        return [], [
            Finding(
                "page_count.mismatch",
                Severity.error,
                f"目录页数合计 {declared} 页，扫描 {scanned} 页（其中有内容 {content} 页），"
                "两者不符，请核对漏扫、重扫或目录",
                measured={"scanned": scanned, "with_content": content},
                rule={"catalogue_total": declared},
            )
        ]
    linked: list[MaterialPages] = []
    page = 0  # 0-based index of the next scanned page
    for entry in catalogue.entries:
        first, taken = page, 0
        while taken < entry.pages:
            if counts_blank or not blank[page]:
                taken += 1
            page += 1
        if not counts_blank:  # blank backs after the material's last page belong to it
            while page < scanned and blank[page]:
                page += 1
        linked.append(MaterialPages(entry.sequence, entry.class_code, entry.class_name, entry.title, first + 1, page))
    return linked, []
