"""A file's fact sheet (三龄两历一身份): what a benefit check must establish, with the pages that prove it.

Every statement of 出生日期, 参加工作时间, 入党时间, 学历, 毕业时间, 民族, 籍贯 and the citizen ID is read
from the OCR text the database holds (`digitise.facts.statements`), so the sheet follows a catalogue
change at once and needs no re-run. For each fact: every distinct value, the pages and materials that
state it, and the value that prevails by practice's rule — **the value first recorded in the file**,
i.e. stated by the material formed earliest (undated or uncatalogued pages after dated ones, in page
order) — unless an archivist has confirmed a value, which is kept as a recorded event.

A requester sees the sheet of only the pages their request grants; the register's values (the ID
card's birth date, the register's 参加工作时间) are shown beside for comparison.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.auth.models import User
from archive_service.db import show_time
from archive_service.dossiers.catalogue_rows import normalise_partial_date
from archive_service.dossiers.models import Dossier, FactConfirmation, Material, PageText
from archive_service.dossiers.schemas import (
    FactConfirmationOut,
    FactEvidenceOut,
    FactOut,
    FactSheetOut,
    FactValueOut,
)
from archive_service.errors import ArchiveError
from archive_service.values import ValueRuleError, check_partial_date, formed_order, written_partial_date
from archive_service.verification.layer import STATE_LABELS
from archive_service.verification.states import ValueStates, best_state, value_states
from archive_service.workbooks import workbook_bytes
from digitise.facts import DATE_KINDS, FACT_KINDS, statements

VALUE_MAX = 60


@dataclass(frozen=True)
class Evidence:
    page: int
    excerpt: str  # the label and value as read
    material: str | None = None  # the material's title; None for a page outside the catalogue
    sequence: str | None = None  # its 序号, e.g. 1-2
    date_formed: str | None = None  # YYYY[MM[DD]]
    state: str = "machine"  # this page's reading of it: machine | proofread | reviewed (校对与复核)

    @property
    def order(self) -> tuple[str, int]:
        """First recorded first: the material formed earliest, then page order."""
        return (formed_order(self.date_formed), self.page)


@dataclass
class FactValue:
    value: str
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def first(self) -> Evidence:
        return min(self.evidence, key=lambda e: e.order)

    @property
    def state(self) -> str:
        return best_state([e.state for e in self.evidence])

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class Fact:
    kind: str
    label: str
    values: list[FactValue]  # distinct values, the first recorded first
    register: str | None  # what the register (the ID card) says, where it records the fact
    confirmed: FactConfirmation | None

    @property
    def prevailing(self) -> str | None:
        """The confirmed value, else the value first recorded in the file."""
        if self.confirmed:
            return self.confirmed.value
        return self.values[0].value if self.values else None

    @property
    def conflict(self) -> bool:
        """The file states values that cannot all be true (1955-06 and 1955-06-01 agree; 1955 and 1956 do not)."""
        return any(not agree(a.value, b.value) for i, a in enumerate(self.values) for b in self.values[i + 1 :])

    @property
    def differs_from_register(self) -> bool:
        return bool(self.register and self.prevailing and not agree(self.register, self.prevailing))


def agree(a: str, b: str) -> bool:
    """Two statements agree when one is the other written more fully (a partial date, a shorter place name)."""
    return a.startswith(b) or b.startswith(a)


def _register_values(dossier: Dossier) -> dict[str, str]:
    r = dossier.retiree
    values = {"birth_date": r.birth_date.isoformat()}
    if r.citizen_id:  # a file held before the system may still wait for its ID
        values["citizen_id"] = r.citizen_id
    if r.work_start_date:
        values["work_start"] = r.work_start_date.isoformat()
    return values


def page_owners(materials: list[Material]) -> dict[int, Material]:
    """Which material each page of the digitised copy belongs to (pages outside the catalogue: none)."""
    owner: dict[int, Material] = {}
    for m in materials:
        if m.first_page and m.last_page:
            for page in range(m.first_page, m.last_page + 1):
                owner.setdefault(page, m)
    return owner


def confirmations(session: Session, dossier_id: int) -> list[FactConfirmation]:
    return list(
        session.scalars(
            select(FactConfirmation)
            .where(FactConfirmation.dossier_id == dossier_id)
            .order_by(FactConfirmation.at, FactConfirmation.id)
        )
    )


def fact_sheet(session: Session, dossier: Dossier, pages: Collection[int] | None = None) -> list[Fact]:
    """The dossier's facts, from every page or (a requester's grant) from `pages` only."""
    query = select(PageText).where(PageText.dossier_id == dossier.id)
    if pages is not None:
        query = query.where(PageText.page.in_(sorted(pages)))  # the rest is never read
    texts = list(session.scalars(query))
    return sheet_of(dossier, texts, confirmations(session, dossier.id), value_states(session, dossier))


def sheet_of(
    dossier: Dossier, texts: list[PageText], confirmed: list[FactConfirmation], states: ValueStates | None = None
) -> list[Fact]:
    """The sheet from page texts and confirmations already loaded (in time order: the last one stands), each
    statement with the state of its checking where `states` (verification/states.py) are given."""
    states = states or {}
    owner = page_owners(list(dossier.materials))
    found: dict[str, dict[str, FactValue]] = {kind: {} for kind in FACT_KINDS}
    for text in sorted(texts, key=lambda t: t.page):
        m = owner.get(text.page)
        for s in statements(text.text):
            evidence = Evidence(
                text.page,
                s.excerpt,
                m.title if m else None,
                m.sequence if m else None,
                m.date_formed if m else None,
                states.get((text.page, s.kind, s.value), "machine"),
            )
            found[s.kind].setdefault(s.value, FactValue(s.value)).evidence.append(evidence)
    latest = {c.kind: c for c in confirmed}
    register = _register_values(dossier)
    return [
        Fact(
            kind, label, sorted(found[kind].values(), key=lambda v: v.first.order), register.get(kind), latest.get(kind)
        )
        for kind, label in FACT_KINDS.items()
    ]


def work_start_dates(sheet: list[Fact]) -> list[str]:
    """参加工作时间 as search filters it: the confirmed value, else the register's and every page's."""
    fact = next(f for f in sheet if f.kind == "work_start")
    if fact.confirmed:
        return [fact.confirmed.value]
    values = ([fact.register] if fact.register else []) + [v.value for v in fact.values]
    return list(dict.fromkeys(values))


def normalised(kind: str, value: str) -> str:
    """A confirmed value as the sheet writes it: dates as ISO (partial as the file has them), other facts trimmed."""
    value = value.strip()
    if kind not in FACT_KINDS:
        raise ArchiveError("fact.kind", f"没有“{kind}”这一项，可确认：{'、'.join(FACT_KINDS.values())}", "kind")
    if not value:
        raise ArchiveError("fact.value_missing", f"请填写{FACT_KINDS[kind]}的采信值", "value")
    if len(value) > VALUE_MAX:
        raise ArchiveError("fact.value_too_long", f"{FACT_KINDS[kind]}最多 {VALUE_MAX} 个字符", "value")
    if kind in DATE_KINDS:
        iso = _iso_partial(value)
        if iso is None:
            raise ArchiveError(
                "fact.value_not_a_date",
                f"{FACT_KINDS[kind]}应为日期，如 1978-09-01、1978-09、1978年9月 或 一九七八年九月",
                "value",
            )
        return iso
    return value


def _iso_partial(value: str) -> str | None:
    """A typed date (1978-09-01, 1978.9, 1978年9月, 一九七八年九月) as ISO, partial as typed; None if it is none."""
    try:
        compact = check_partial_date(normalise_partial_date(value))
    except ValueRuleError:
        return None
    return written_partial_date(compact, "-")


def confirm(
    session: Session, user: User, dossier: Dossier, kind: str, value: str, page: int | None = None, note: str = ""
) -> FactConfirmation:
    """Record the archivist's accepted value of one fact (the caller commits)."""
    value = normalised(kind, value)
    if page is not None and session.get(PageText, (dossier.id, page)) is None:
        raise ArchiveError("fact.page", f"第 {page} 页不在该档案的数字副本中", "page")
    confirmation = FactConfirmation(
        dossier_id=dossier.id, kind=kind, value=value, page=page, actor_id=user.id, note=note.strip()[:500]
    )
    session.add(confirmation)
    session.flush()
    return confirmation


def _confirmation_out(c: FactConfirmation) -> FactConfirmationOut:
    return FactConfirmationOut(
        value=c.value, page=c.page, actor_id=c.actor_id, actor_name=c.actor.display_name, at=c.at, note=c.note
    )


def sheet_out(dossier: Dossier, sheet: list[Fact]) -> FactSheetOut:
    return FactSheetOut(
        dossier_id=dossier.id,
        archival_code=dossier.archival_code,
        facts=[
            FactOut(
                kind=f.kind,
                label=f.label,
                prevailing=f.prevailing,
                registered=f.register,
                conflict=f.conflict,
                differs_from_register=f.differs_from_register,
                confirmed=_confirmation_out(f.confirmed) if f.confirmed else None,
                values=[
                    FactValueOut(
                        value=v.value,
                        state=v.state,
                        state_label=v.state_label,
                        first_recorded=i == 0,
                        evidence=[FactEvidenceOut.model_validate(e, from_attributes=True) for e in v.evidence],
                    )
                    for i, v in enumerate(f.values)
                ],
            )
            for f in sheet
        ],
    )


def _evidence_text(evidence: list[Evidence]) -> str:
    return "；".join(
        f"第{e.page}页" + (f"（{e.sequence} {e.material}）" if e.material else "（未编目页）") for e in evidence
    )


def checklist_xlsx(dossier: Dossier, sheet: list[Fact], who: User, at: datetime, scope: str) -> bytes:
    """The 核查表 a benefit officer prints and attaches to the case: one row per fact, the value that
    prevails and why, every other value the file states, and where the file disagrees."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    ws = book.active
    ws.title = "核查表"
    r = dossier.retiree
    ws.append([f"人事档案核查表　{r.name}　档号 {dossier.archival_code}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"原工作单位：{r.enterprise.name}　依据：{scope}　制表：{who.display_name}　{show_time(at)}"])
    ws.append([])
    ws.append(["项目", "采信值", "采信依据", "登记（身份证）", "档案内其他记载", "核查提示", "识别校核"])
    for f in sheet:
        first = f.values[0] if f.values else None
        if f.confirmed:
            basis = f"经{f.confirmed.actor.display_name}确认（{show_time(f.confirmed.at)}）" + (
                f"，依第{f.confirmed.page}页" if f.confirmed.page else ""
            )
        elif first:
            basis = "最先记载：" + _evidence_text([first.first])
        else:
            basis = "档案中未见记载"
        others = [v for v in f.values if v.value != f.prevailing]
        shown = next((v for v in f.values if v.value == f.prevailing), None)
        hints = [h for h, on in (("档案内记载不一致", f.conflict), ("与登记不符", f.differs_from_register)) if on]
        ws.append(
            [
                f.label,
                f.prevailing or "—",
                basis,
                f.register or "",
                "\n".join(f"{v.value}（{v.state_label}）：{_evidence_text(v.evidence)}" for v in others),
                "、".join(hints),
                shown.state_label if shown else "—",  # how the file's statement of it was checked (校对与复核)
            ]
        )
    for column, width in zip("ABCDEFG", (14, 20, 36, 20, 48, 18, 12), strict=True):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=5):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    return workbook_bytes(book)


def hand_out_checklist(
    session: Session,
    user: User,
    dossier: Dossier,
    client: str,
    pages: Collection[int] | None = None,
    request_id: int | None = None,
    scope: str = "全部页面",
) -> bytes:
    """The 核查表, on the access log like any delivery (the entry is committed before the bytes are returned)."""
    sheet = fact_sheet(session, dossier, pages)
    data = checklist_xlsx(dossier, sheet, user, datetime.now(UTC), scope)
    cited = sorted({e.page for f in sheet for v in f.values for e in v.evidence})
    record_access(
        session,
        user,
        AccessAction.fact_sheet,
        client,
        dossier_id=dossier.id,
        pages=cited,
        request_id=request_id,
        detail=f"核查表 {dossier.archival_code}",
    )
    return data
