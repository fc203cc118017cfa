"""The handover campaign (000 §四, 001 第五–七条, 003 一, 004 第五条): the bureau's window, how many retirees'
files each enterprise must hand over (核准移交人数), who is done, who is late; and the monthly list of newly
received retirees (with the deaths recorded that month) for the social-insurance agency (001 第十六条(四)).
"""

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access, record_change
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_midnight, bureau_today, show_time
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, Dossier, LifeEvent, Retiree
from archive_service.errors import ArchiveError, NotFound
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel
from archive_service.transfers import continuing, register
from archive_service.transfers.models import (
    HandoverCampaign,
    HandoverLevelWindow,
    HandoverQuota,
    ItemResult,
    TransferBatch,
    TransferItem,
    TransferKind,
)
from archive_service.uploads import cell_text
from archive_service.values import policy_basis
from archive_service.workbooks import fit_columns, fit_every_sheet, workbook_bytes

QUOTA_HEADERS = ("统一社会信用代码", "单位名称", "核准移交人数", "依据")
PRESETS_FILE = Path(__file__).with_name("campaigns.toml")


@dataclass(frozen=True)
class Window:
    """A handover window as a seed sets it (campaigns.toml)."""

    key: str
    name: str
    opens_on: date
    closes_on: date
    final_on: date | None
    basis: str
    by_level: dict[OrganisationLevel, date]  # enterprises of a level closing on a date of their own

    def levels_text(self) -> str:
        return _levels_text(self.by_level)


@cache
def presets() -> dict[str, Window]:
    raw = tomllib.loads(PRESETS_FILE.read_text(encoding="utf-8"))
    return {
        key: Window(
            key,
            v["name"],
            v["opens_on"],
            v["closes_on"],
            v.get("final_on"),
            v["basis"],
            {OrganisationLevel(level): closes for level, closes in v.get("levels", {}).items()},
        )
        for key, v in raw.items()
    }


def _levels_text(by_level: dict[OrganisationLevel, date]) -> str:
    order = list(OrganisationLevel)
    return "、".join(f"{v.label} {by_level[v]}" for v in sorted(by_level, key=order.index))


def preset(key: str) -> Window:
    if key not in presets():
        names = "、".join(w.name for w in presets().values())
        raise ArchiveError("preset.unknown", f"没有这个移交期限预设；可选：{names}", "preset", 422)
    return presets()[key]


def campaign_of(session: Session, bureau_id: int) -> HandoverCampaign | None:
    return session.get(HandoverCampaign, bureau_id)


def set_campaign(
    session: Session,
    admin: User,
    opens_on: date | None,
    closes_on: date | None,
    final_on: date | None,
    basis: str,
    client: str,
    by_level: dict[str, date | None] | None = None,
) -> HandoverCampaign:
    """The administrator sets the window from the bureau's notice, with the levels of enterprise that close
    on a date of their own (`by_level`: level → date; a blank date: the bureau's); the change is on the
    access log."""
    require(admin, Action.set_jurisdiction)  # the bureau's policy settings are the administrator's
    if opens_on is None:
        raise ArchiveError("opens_on.required", "请填写移交开始日期", "opens_on", 422)
    if closes_on is None:
        raise ArchiveError("closes_on.required", "请填写移交截止日期", "closes_on", 422)
    if closes_on < opens_on:
        raise ArchiveError("closes_on.range", f"截止日期 {closes_on} 早于开始日期 {opens_on}", "closes_on", 422)
    if final_on is not None and final_on < closes_on:
        raise ArchiveError("final_on.range", f"最终期限 {final_on} 早于截止日期 {closes_on}", "final_on", 422)
    why = policy_basis(basis)
    levels = _checked_levels(by_level or {}, opens_on)
    campaign = session.get(HandoverCampaign, admin.organisation_id, with_for_update=True)
    before = _window(campaign) if campaign else "未设置"
    if campaign is None:
        campaign = HandoverCampaign(bureau_id=admin.organisation_id)
        session.add(campaign)
    campaign.opens_on, campaign.closes_on, campaign.final_on, campaign.basis = opens_on, closes_on, final_on, why
    campaign.level_windows = [
        HandoverLevelWindow(bureau_id=admin.organisation_id, level=level, closes_on=closes)
        for level, closes in levels.items()
        if closes != closes_on  # the same as the bureau's is no date of its own
    ]
    campaign.set_by_id, campaign.set_at = admin.id, datetime.now(UTC)
    after = f"{_window(campaign)}（{why}）"
    record_change(session, admin, AccessAction.policy_changed, client, "移交期限：", before, after)
    session.flush()
    return campaign


def set_preset(session: Session, admin: User, key: str, client: str) -> HandoverCampaign:
    """The window a seed sets (campaigns.toml), taken as the bureau's own."""
    require(admin, Action.set_jurisdiction)
    w = preset(key)
    by_level: dict[str, date | None] = {level.value: closes for level, closes in w.by_level.items()}
    done = set_campaign(session, admin, w.opens_on, w.closes_on, w.final_on, w.basis, client, by_level)
    continuing.set_preset(session, admin, key, client)  # the seed's 常态化移交 after its window
    return done


def _checked_levels(by_level: dict[str, date | None], opens_on: date) -> dict[OrganisationLevel, date]:
    levels: dict[OrganisationLevel, date] = {}
    for key, closes in by_level.items():
        try:
            level = OrganisationLevel(key)
        except ValueError:
            names = "、".join(f"{v.value}（{v.label}）" for v in OrganisationLevel)
            raise ArchiveError("by_level.unknown", f"企业隶属层级应为：{names}", "by_level", 422) from None
        if closes is None:
            continue
        if closes < opens_on:
            raise ArchiveError(
                "by_level.range", f"{level.label}企业截止日期 {closes} 早于开始日期 {opens_on}", f"closes_{key}", 422
            )
        levels[level] = closes
    return levels


def _window(c: HandoverCampaign) -> str:
    final = f"，最终期限 {c.final_on}" if c.final_on else ""
    own = _levels_text({w.level: w.closes_on for w in c.level_windows})
    return f"{c.opens_on} 至 {c.closes_on}{f'（{own}）' if own else ''}{final}"


def _enterprise(session: Session, enterprise_id: int) -> Organisation:
    found = session.get(Organisation, enterprise_id)
    if found is None or found.kind is not OrganisationKind.enterprise:
        raise NotFound("该企业", "enterprise_id")
    return found


def _check_quota(expected: Any, basis: str) -> list[tuple[str, str, str]]:
    problems = []
    if not isinstance(expected, int) or isinstance(expected, bool) or not 0 <= expected <= 1_000_000:
        problems.append(("expected", "expected.range", "核准移交人数应为 0–1000000 的整数"))
    if not 2 <= len(basis.strip()) <= 200:
        problems.append(("basis", "basis.required", "请写明核准依据（文号或社保经办机构名单，2–200 字）"))
    return problems


def set_quota(session: Session, user: User, enterprise_id: int, expected: Any, basis: str) -> HandoverQuota:
    """Record (or correct) an enterprise's 核准移交人数."""
    require(user, Action.receive_transfers)
    enterprise = _enterprise(session, enterprise_id)
    problems = _check_quota(expected, basis)
    if problems:
        field, code, _ = problems[0]
        raise ArchiveError(code, "；".join(p[2] for p in problems), field, 422)
    return _save_quota(session, user, enterprise.id, expected, basis.strip())


def _save_quota(session: Session, user: User, enterprise_id: int, expected: int, basis: str) -> HandoverQuota:
    quota = session.scalar(
        select(HandoverQuota).where(
            HandoverQuota.bureau_id == user.organisation_id, HandoverQuota.enterprise_id == enterprise_id
        )
    )
    if quota is None:
        quota = HandoverQuota(bureau_id=user.organisation_id, enterprise_id=enterprise_id)
        session.add(quota)
    quota.expected, quota.basis = expected, basis
    quota.set_by_id, quota.set_at = user.id, datetime.now(UTC)
    session.flush()
    return quota


def import_quotas(session: Session, user: User, data: bytes, filename: str) -> int:
    """The agency's list as a workbook (one row per enterprise, by 统一社会信用代码): every row checked, all
    saved or none; returns how many enterprises it set."""
    require(user, Action.receive_transfers)
    rows = register.read_sheet(data, filename, QUOTA_HEADERS, "核准移交人数表")
    by_code = {
        o.credit_code: o
        for o in session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.enterprise))
    }
    problems: list[dict[str, Any]] = []
    checked: dict[int, tuple[int, str]] = {}
    for line, cells in rows:
        code = cell_text(cells["统一社会信用代码"]).upper()
        enterprise = by_code.get(code)
        if enterprise is None:
            problems.append({"row": line, "column": "统一社会信用代码", "code": "enterprise.unknown",
                             "message": f"没有统一社会信用代码为 {code or '（空）'} 的企业"})  # fmt: skip
            continue
        text = cell_text(cells["核准移交人数"])
        expected: Any = int(text) if text.isascii() and text.isdigit() else None
        basis = cell_text(cells["依据"])
        for field, code_, message in _check_quota(expected, basis):
            column = "核准移交人数" if field == "expected" else "依据"
            problems.append({"row": line, "column": column, "code": code_, "message": message})
        if enterprise.id in checked:
            problems.append({"row": line, "column": "统一社会信用代码", "code": "enterprise.repeated",
                             "message": f"{enterprise.name} 在表中出现多次"})  # fmt: skip
        checked[enterprise.id] = (expected, basis)
    if problems:
        raise ArchiveError.listing("quotas.invalid", "核准移交人数表", problems, "file")
    for enterprise_id, (expected, basis) in checked.items():
        _save_quota(session, user, enterprise_id, expected, basis)
    return len(checked)


# ---- progress ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnterpriseProgress:
    enterprise: str
    credit_code: str
    level: OrganisationLevel
    expected: int | None  # 核准移交人数; None when not yet recorded
    handed_over: int  # files received (accepted, with or without a noted difference)
    last_received: datetime | None

    @property
    def outstanding(self) -> int | None:
        return None if self.expected is None else max(self.expected - self.handed_over, 0)


@dataclass(frozen=True)
class CampaignProgress:
    campaign: HandoverCampaign | None
    today: date
    rows: list[EnterpriseProgress]

    def closes_on(self, row: EnterpriseProgress) -> date | None:
        """The enterprise's closing date: its level's, else the bureau's (003 一、四; 000 七)."""
        return self.campaign.closes_for(row.level) if self.campaign else None

    def state(self, row: EnterpriseProgress) -> str:
        """完成 / 进行中 / 逾期 / 超过最终期限 / 未核定 — in the bureau's words."""
        if row.expected is None:
            return "未核定人数"
        if row.outstanding == 0:
            return "已完成"
        c, closes = self.campaign, self.closes_on(row)
        if c is None or closes is None or self.today <= closes:
            return "进行中"
        if c.final_on and c.final_on >= closes and self.today > c.final_on:
            return "超过最终期限"
        return "逾期"

    def late(self, row: EnterpriseProgress) -> bool:
        return self.state(row) in ("逾期", "超过最终期限")


def progress(session: Session, user: User, today: date | None = None) -> CampaignProgress:
    """Per enterprise: expected vs handed over vs outstanding; the late first, then by name."""
    require(user, Action.view_holdings)
    bureau = user.organisation_id
    quotas = {
        q.enterprise_id: q for q in session.scalars(select(HandoverQuota).where(HandoverQuota.bureau_id == bureau))
    }
    received = {
        enterprise_id: (n, last)
        for enterprise_id, n, last in session.execute(
            select(TransferBatch.from_org_id, func.count(), func.max(TransferItem.checked_at))
            .join(TransferItem, TransferItem.batch_id == TransferBatch.id)
            .where(
                TransferBatch.to_org_id == bureau,
                TransferBatch.kind == TransferKind.intake,
                TransferItem.result.in_([ItemResult.accepted, ItemResult.discrepancy]),
            )
            .group_by(TransferBatch.from_org_id)
        )
    }
    names = {
        o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(set(quotas) | set(received))))
    }
    rows = [
        EnterpriseProgress(
            enterprise=names[e].name,
            credit_code=names[e].credit_code or "",
            level=names[e].level,
            expected=quotas[e].expected if e in quotas else None,
            handed_over=received.get(e, (0, None))[0],
            last_received=received.get(e, (0, None))[1],
        )
        for e in names
    ]
    figures = CampaignProgress(campaign_of(session, bureau), today or bureau_today(), rows)
    rows.sort(key=lambda r: (not figures.late(r), r.expected is None, r.enterprise))
    return figures


PROGRESS_HEADERS = (
    "企业",
    "统一社会信用代码",
    "隶属",
    "截止日期",
    "核准移交人数",
    "已移交",
    "未移交",
    "最近接收",
    "状态",
)


def progress_xlsx(figures: CampaignProgress) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "移交进度"
    c = figures.campaign
    sheet.append([f"移交期限：{_window(c)}（{c.basis}）" if c else "移交期限：未设置", f"统计日：{figures.today}"])
    sheet.append(list(PROGRESS_HEADERS))
    for r in figures.rows:
        closes = figures.closes_on(r)
        sheet.append([
            r.enterprise, r.credit_code, r.level.label, closes.isoformat() if closes else "",
            r.expected, r.handed_over, r.outstanding,
            show_time(r.last_received, "%Y-%m-%d") if r.last_received else "", figures.state(r),
        ])  # fmt: skip
    known = [r for r in figures.rows if r.expected is not None]
    sheet.append(["合计", "", "", "", sum(r.expected or 0 for r in known), sum(r.handed_over for r in figures.rows),
                  sum(r.outstanding or 0 for r in known), "", ""])  # fmt: skip
    fit_columns(sheet, header_row=2)  # row 1: the window and the day, a title line
    return workbook_bytes(book)


# ---- the monthly list for the social-insurance agency ------------------------------------------


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month YYYY-MM in the bureau's time zone, as UTC instants [start, end)."""
    try:
        first = datetime.strptime(month.strip(), "%Y-%m").date()
    except ValueError:
        raise ArchiveError("month.format", f"月份应为 YYYY-MM，实为 {month or '（空）'}", "month", 422) from None
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return bureau_midnight(first), bureau_midnight(following)


SEX = {"M": "男", "F": "女"}
RECEIVED_HEADERS = ("姓名", "性别", "公民身份号码", "出生日期", "退休时间", "参加工作时间", "原单位",
                    "参保地区划代码", "档号", "接收日期")  # fmt: skip
EVENT_HEADERS = ("姓名", "公民身份号码", "原单位", "变动", "发生日期", "依据", "登记日期")


def monthly_export(session: Session, user: User, month: str, client: str, enterprise_id: int | None = None) -> bytes:
    """Newly received retirees of the month and the deaths and other changes recorded in it, as the agency's
    .xlsx (001 第十六条(四)); for one enterprise, the same list for it (000 二(五): the enterprise is told
    of its retirees' deaths). Handing it out is on the access log."""
    require(user, Action.receive_transfers)
    start, end = _month_bounds(month)
    bureau = user.organisation_id
    only = (Retiree.enterprise_id == _enterprise(session, enterprise_id).id,) if enterprise_id is not None else ()
    received = session.execute(
        select(Retiree, Dossier.archival_code, CustodyEvent.at)
        .join(Dossier, Dossier.retiree_id == Retiree.id)
        .join(CustodyEvent, CustodyEvent.dossier_id == Dossier.id)
        .where(
            CustodyEvent.kind == CustodyEventKind.received,
            CustodyEvent.to_org_id == bureau,
            CustodyEvent.at >= start,
            CustodyEvent.at < end,
            *only,
        )
        .order_by(CustodyEvent.at, Dossier.archival_code)
    ).all()
    events = session.execute(
        select(LifeEvent, Retiree)
        .join(Retiree, Retiree.id == LifeEvent.retiree_id)
        .join(Dossier, Dossier.retiree_id == Retiree.id)
        .where(Dossier.custodian_id == bureau, LifeEvent.entered_at >= start, LifeEvent.entered_at < end, *only)
        .order_by(LifeEvent.entered_at)
    ).all()
    book = Workbook()
    sheet = book.active
    sheet.title = "新接收人员"
    sheet.append(list(RECEIVED_HEADERS))
    for r, code, at in received:
        sheet.append([
            r.name, SEX[r.sex], r.citizen_id, r.birth_date.isoformat(),
            r.retirement_date.isoformat() if r.retirement_date else "",
            r.work_start_date.isoformat() if r.work_start_date else "",
            r.enterprise.name, r.insured_region_code or "", code, show_time(at, "%Y-%m-%d"),
        ])  # fmt: skip
    changes = book.create_sheet("人员状态变动")
    changes.append(list(EVENT_HEADERS))
    for e, r in events:
        changes.append([r.name, r.citizen_id, r.enterprise.name, e.kind.label, e.occurred_on.isoformat(),
                        e.source_document, show_time(e.entered_at, "%Y-%m-%d")])  # fmt: skip
    record_access(
        session, user, AccessAction.export, client,
        detail=f"{month} 月报（{'单位 ' + str(enterprise_id) if enterprise_id else '社保经办机构'}）："
        f"新接收 {len(received)} 人，状态变动 {len(events)} 条",
    )  # fmt: skip
    fit_every_sheet(book)
    return workbook_bytes(book)
