"""A bureau's periodic report (001 第十七条 总结评估; 004 第五条 情况收集、分析和报告): for a month or a year
in the bureau's time zone — holdings at the period's end by status, intake by enterprise, uses by purpose
and by mode, 转递 in and out, deaths recorded, digitisation — and the same as .xlsx.

Intake is the transfer statistics' own count (transfers.statistics) and the backlog the dashboard's
(digitisation.backlog), so that the report and those pages cannot disagree."""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.access.models import RequestMode, RequestStatus, RetrievalRequest
from archive_service.access.service import purposes
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import as_utc, bureau_midnight, bureau_today
from archive_service.digitisation.backlog import backlog
from archive_service.dossiers.models import (
    CustodyEvent,
    CustodyEventKind,
    DigitalObject,
    Dossier,
    DossierStatus,
    LifeEvent,
    LifeEventKind,
)
from archive_service.dossiers.sent_on import sent_on_by
from archive_service.errors import ArchiveError
from archive_service.transfers import statistics
from archive_service.transfers.models import TransferBatch, TransferKind, TransferStatus

PERIOD = re.compile(r"(\d{4})(?:-(\d{2}))?")


@dataclass(frozen=True)
class Period:
    """A month (2026-03) or a year (2026), from the bureau's midnight of its first day to that of the next."""

    year: int
    month: int | None = None

    @property
    def name(self) -> str:
        return f"{self.year}年{self.month}月" if self.month else f"{self.year}年"

    @property
    def code(self) -> str:
        return f"{self.year}-{self.month:02d}" if self.month else str(self.year)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month or 1, 1)

    @property
    def next_first_day(self) -> date:
        if self.month is None or self.month == 12:
            return date(self.year + 1, 1, 1)
        return date(self.year, self.month + 1, 1)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return bureau_midnight(self.first_day), bureau_midnight(self.next_first_day)

    def months(self) -> list[str]:
        return [self.code] if self.month else [f"{self.year}-{m:02d}" for m in range(1, 13)]


def parse_period(text: str, today: date | None = None) -> Period:
    """`YYYY-MM` or `YYYY`, not before 2000 and not after the bureau's current month."""
    found = PERIOD.fullmatch(text.strip())
    if not found:
        raise ArchiveError("period.format", "报表期间应为年月（如 2026-03）或年份（如 2026）", "period", 422)
    year, month = int(found[1]), int(found[2]) if found[2] else None
    if month is not None and not 1 <= month <= 12:
        raise ArchiveError("period.month", f"报表期间的月份应在 01–12 之间，收到 {found[2]}", "period", 422)
    if year < 2000:
        raise ArchiveError("period.range", "报表期间不能早于 2000 年", "period", 422)
    period = Period(year, month)
    if period.first_day > (today or bureau_today()):
        raise ArchiveError("period.future", f"报表期间 {period.name} 尚未开始，不能统计", "period", 422)
    return period


@dataclass
class Report:
    period: Period
    holdings: dict[DossierStatus, int]  # at the period's end (or now, for the current period)
    intake: list[tuple[str, int]]  # (enterprise, files received) in the period
    uses_by_purpose: list[tuple[str, int]]  # requests approved in the period
    uses_by_mode: list[tuple[str, int]]
    onward_in: int  # files received from other bureaus (转递转入)
    onward_out: int  # files sent on to other bureaus (转递转出)
    deaths: int  # deaths recorded in the period
    digitised_files: int  # files whose first digitised copy was made in the period
    digitised_pages: int  # the pages of those copies
    backlog_now: int  # files awaiting digitisation today (the dashboard's figure)
    notes: list[str] = field(default_factory=list)

    @property
    def uses(self) -> int:
        return sum(n for _, n in self.uses_by_mode)

    @property
    def intake_total(self) -> int:
        return sum(n for _, n in self.intake)


def report(session: Session, user: User, period: Period) -> Report:
    require(user, Action.view_holdings)
    bureau = user.organisation_id
    start, end = period.bounds
    months = set(period.months())
    intake: Counter[str] = Counter()
    for r in statistics.statistics(session, user, period.year):
        if r.month in months and r.received:
            intake[r.enterprise] += r.received
    labels = {k: p.label for k, p in purposes().items()}
    approved = session.execute(
        select(RetrievalRequest.purpose, RetrievalRequest.mode).where(
            RetrievalRequest.bureau_id == bureau,
            RetrievalRequest.status.in_([RequestStatus.approved, RequestStatus.closed]),
            RetrievalRequest.decided_at >= start,
            RetrievalRequest.decided_at < end,
        )
    ).all()
    by_purpose = Counter(labels.get(p, p) for p, _ in approved)
    by_mode = Counter(RequestMode(m).label for _, m in approved)
    first_copy = (
        select(DigitalObject.dossier_id, func.min(DigitalObject.id).label("id"))
        .join(Dossier, Dossier.id == DigitalObject.dossier_id)
        .where(DigitalObject.role == "use_copy", (Dossier.custodian_id == bureau) | sent_on_by(bureau))
        .group_by(DigitalObject.dossier_id)
        .subquery()
    )
    files, pages = session.execute(
        select(func.count(), func.coalesce(func.sum(DigitalObject.pages), 0))
        .join(first_copy, first_copy.c.id == DigitalObject.id)
        .where(DigitalObject.created_at >= start, DigitalObject.created_at < end)
    ).one()
    return Report(
        period=period,
        holdings=holdings_at(session, bureau, end),
        intake=sorted(intake.items(), key=lambda e: (-e[1], e[0])),
        uses_by_purpose=sorted(by_purpose.items(), key=lambda e: (-e[1], e[0])),
        uses_by_mode=sorted(by_mode.items(), key=lambda e: (-e[1], e[0])),
        onward_in=_onward(session, CustodyEventKind.received, TransferBatch.to_org_id == bureau, start, end),
        onward_out=_onward(session, CustodyEventKind.transfer_sent, TransferBatch.from_org_id == bureau, start, end),
        deaths=_deaths(session, bureau, start, end),
        digitised_files=files,
        digitised_pages=int(pages or 0),
        backlog_now=backlog(session, bureau).files,
    )


def _onward(session: Session, kind: CustodyEventKind, ours: object, start: datetime, end: datetime) -> int:
    """Files of 转递 batches (not withdrawn) that left (transfer_sent) or arrived (received) in the period."""
    return (
        session.scalar(
            select(func.count(func.distinct(CustodyEvent.dossier_id)))
            .join(TransferBatch, TransferBatch.id == CustodyEvent.transfer_batch_id)
            .where(
                CustodyEvent.kind == kind,
                TransferBatch.kind == TransferKind.onward,
                TransferBatch.status != TransferStatus.cancelled,
                ours,  # type: ignore[arg-type]
                CustodyEvent.at >= start,
                CustodyEvent.at < end,
            )
        )
        or 0
    )


def _deaths(session: Session, bureau: int, start: datetime, end: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(LifeEvent)
            .join(User, User.id == LifeEvent.entered_by_id)
            .where(
                LifeEvent.kind == LifeEventKind.death,
                User.organisation_id == bureau,
                LifeEvent.entered_at >= start,
                LifeEvent.entered_at < end,
            )
        )
        or 0
    )


def holdings_at(session: Session, bureau: int, end: datetime) -> dict[DossierStatus, int]:
    """The dashboard's files (held, or sent on by the bureau) by their status at `end`. A file nothing has
    happened to since is as it is now (so the current period's figures are the dashboard's); the status of
    one changed since is read back from its custody events up to `end`."""
    ours = (Dossier.custodian_id == bureau) | sent_on_by(bureau)
    files = session.execute(
        select(Dossier.id, Dossier.status, Dossier.custodian_id, Dossier.created_at).where(ours)
    ).all()
    changed = set(
        session.scalars(
            select(CustodyEvent.dossier_id)
            .join(Dossier, Dossier.id == CustodyEvent.dossier_id)
            .where(ours, CustodyEvent.at >= end)
        )
    )
    then: dict[int, DossierStatus | None] = dict.fromkeys(changed)
    ids = sorted(changed)
    for chunk in range(0, len(ids), 5000):
        events = session.execute(
            select(CustodyEvent.dossier_id, CustodyEvent.kind, CustodyEvent.from_org_id, CustodyEvent.to_org_id)
            .where(CustodyEvent.dossier_id.in_(ids[chunk : chunk + 5000]), CustodyEvent.at < end)
            .order_by(CustodyEvent.at, CustodyEvent.id)
        )
        for dossier_id, kind, from_org, to_org in events:
            then[dossier_id] = _after(kind, from_org == bureau, to_org == bureau) or then[dossier_id]
    counts = dict.fromkeys(DossierStatus, 0)
    for f in files:
        now = f.status if f.custodian_id == bureau else DossierStatus.transferred_out  # another bureau's now
        status = then[f.id] if f.id in then else now if as_utc(f.created_at) < end else None
        if status is not None:
            counts[status] += 1
    return counts


def _after(kind: CustodyEventKind, from_us: bool, to_us: bool) -> DossierStatus | None:
    """A file's status for the bureau after one custody event, or None where the event changes nothing."""
    if kind is CustodyEventKind.registered:
        return DossierStatus.at_enterprise
    if kind is CustodyEventKind.transfer_sent and to_us:  # an enterprise's (or bureau's) batch on its way
        return DossierStatus.in_transfer
    if kind in (CustodyEventKind.received, CustodyEventKind.holdings_entry) and to_us:
        return DossierStatus.in_custody
    if kind is CustodyEventKind.received and from_us:  # another bureau received what we sent on
        return DossierStatus.transferred_out
    if kind is CustodyEventKind.loaned and from_us:
        return DossierStatus.on_loan
    if kind in (CustodyEventKind.returned, CustodyEventKind.onward_cancelled):
        return DossierStatus.in_custody
    if kind is CustodyEventKind.transfer_sent and from_us:
        return DossierStatus.in_transfer
    if kind is CustodyEventKind.transferred_out and from_us:
        return DossierStatus.transferred_out
    if kind is CustodyEventKind.held_elsewhere:  # kept by a street or custodian for the bureau (003 七(二))
        return DossierStatus.held_elsewhere
    if kind is CustodyEventKind.taken_in:
        return DossierStatus.in_custody
    if kind is CustodyEventKind.disposed:
        return DossierStatus.disposed
    return None


def sections(r: Report) -> list[tuple[str, list[tuple[str, int]]]]:
    """The report's tables, each (title, rows of (item, figure)): what the page shows and the workbook holds."""
    return [
        (f"馆藏档案（{r.period.name}末，按状态）", [(s.label, r.holdings[s]) for s in DossierStatus]),
        ("接收移交（按企业，已接收卷数）", [*r.intake, ("合计", r.intake_total)]),
        ("利用目的（期内批准的查阅申请）", [*r.uses_by_purpose, ("合计", r.uses)]),
        ("利用方式（期内批准的查阅申请）", [*r.uses_by_mode, ("合计", r.uses)]),
        ("转递", [("转入（自其他档案馆接收）", r.onward_in), ("转出（送往其他档案馆）", r.onward_out)]),
        ("人员状态", [("登记死亡", r.deaths)]),
        (
            "数字化",
            [
                ("本期完成数字化（卷）", r.digitised_files),
                ("本期数字化页数", r.digitised_pages),
                ("待数字化（截至今日）", r.backlog_now),
            ],
        ),
    ]


def report_xlsx(r: Report, bureau_name: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from archive_service.workbooks import fit_columns, workbook_bytes

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"统计报表{r.period.code}"
    sheet.append([f"{bureau_name} 统计报表 {r.period.name}"])
    sheet["A1"].font = Font(bold=True)
    sheet.append(["项目", "明细", "数量"])
    for title, rows in sections(r):
        for item, figure in rows:
            sheet.append([title, item, figure])
    fit_columns(sheet)
    return workbook_bytes(book)
