"""常态化移交 (重庆 实施方案 四(二): 从 2018 年 1 月 1 日起，企业职工办理退休手续后……常态化移交; 红政办规〔2020〕6号
第七条; 西人社发〔2020〕14号 一): after the campaign, each new retiree's file comes on its own, due a bureau-set
number of months after the retirement date. The late list names the enterprise and the person."""

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_change
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import in_bureau_time
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation
from archive_service.transfers.models import (
    ContinuingHandover,
    ItemResult,
    TransferBatch,
    TransferItem,
    TransferKind,
    TransferStatus,
)
from archive_service.transfers.service import add_months
from archive_service.values import policy_basis

PRESETS_FILE = Path(__file__).with_name("campaigns.toml")  # [key.continuing] beside each seed's window
BASIS = "重庆市市属国有重点企业退休人员社会化管理试点工作实施方案 四(二)；红政办规〔2020〕6号 第七条"


@cache
def presets() -> dict[str, tuple[date, int, str]]:
    raw = tomllib.loads(PRESETS_FILE.read_text(encoding="utf-8"))
    return {k: (v["continuing"]["starts_on"], v["continuing"]["months"], v["continuing"]["basis"])
            for k, v in raw.items() if "continuing" in v}  # fmt: skip


def setting_of(session: Session, bureau_id: int) -> ContinuingHandover | None:
    return session.get(ContinuingHandover, bureau_id)


def set_continuing(
    session: Session, admin: User, starts_on: date | None, due_months: object, basis: str, client: str
) -> ContinuingHandover:
    """The administrator sets when 常态化移交 starts and how many months after retirement a file is due."""
    require(admin, Action.set_jurisdiction)  # the bureau's policy settings are the administrator's
    if starts_on is None:
        raise ArchiveError("starts_on.required", "请填写常态化移交起始日期", "starts_on", 422)
    if not isinstance(due_months, int) or isinstance(due_months, bool) or not 1 <= due_months <= 24:
        raise ArchiveError("due_months.range", "退休后移交期限应为 1–24 个月的整数", "due_months", 422)
    why = policy_basis(basis)
    setting = session.get(ContinuingHandover, admin.organisation_id, with_for_update=True)
    before = _text(setting) if setting else "未设置"
    if setting is None:
        setting = ContinuingHandover(bureau_id=admin.organisation_id)
        session.add(setting)
    setting.starts_on, setting.due_months, setting.basis = starts_on, due_months, why
    setting.set_by_id, setting.set_at = admin.id, datetime.now(UTC)
    after = f"{_text(setting)}（{why}）"
    record_change(session, admin, AccessAction.policy_changed, client, "常态化移交：", before, after)
    session.flush()
    return setting


def set_preset(session: Session, admin: User, key: str, client: str) -> ContinuingHandover | None:
    """A seed's 常态化移交 with its window (campaign.set_preset); None where the seed sets none."""
    if key not in presets():
        return None
    starts_on, months, basis = presets()[key]
    return set_continuing(session, admin, starts_on, months, basis, client)


def _text(s: ContinuingHandover) -> str:
    return f"{s.starts_on} 起退休的人员，退休后 {s.due_months} 个月内移交"


@dataclass(frozen=True)
class Late:
    """A new retiree whose file reached the bureau after it was due."""

    enterprise: str
    name: str
    retirement_date: date
    due_on: date
    handed_over_on: date  # the day the register (with the file) reached the bureau
    batch_number: str

    @property
    def days_late(self) -> int:
        return (self.handed_over_on - self.due_on).days


def late(session: Session, user: User) -> list[Late]:
    """Each register row of a retiree who retired on or after the start of 常态化移交 whose file reached the
    bureau (the register comes with the files) after its due date; the latest first."""
    require(user, Action.view_holdings)
    setting = setting_of(session, user.organisation_id)
    if setting is None:
        return []
    rows = session.execute(
        select(TransferItem, TransferBatch.number, TransferBatch.sent_at, TransferBatch.created_at, Organisation.name)
        .join(TransferBatch, TransferBatch.id == TransferItem.batch_id)
        .join(Organisation, Organisation.id == TransferBatch.from_org_id)
        .where(
            TransferBatch.to_org_id == user.organisation_id,
            TransferBatch.kind == TransferKind.intake,
            TransferBatch.status != TransferStatus.cancelled,
            TransferItem.result != ItemResult.rejected,
            TransferItem.retirement_date >= setting.starts_on,
        )
    ).all()
    found = []
    for item, number, sent_at, created_at, enterprise in rows:
        retired = item.retirement_date
        assert retired is not None  # the query takes only rows with one
        due = add_months(retired, setting.due_months)
        came = in_bureau_time(sent_at or created_at).date()
        if came > due:
            found.append(Late(enterprise, item.retiree_name, retired, due, came, number))
    return sorted(found, key=lambda x: (-x.days_late, x.enterprise, x.name))
