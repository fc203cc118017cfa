"""What happens to a retiree after handover (000 二(五); 002 第三十四条: 居住流动、判刑、失踪、死亡等状态变动 …
应当做有关业务处理，同时对信息进行更新维护): recorded with its date, the document it was learnt from and
who entered it, as an event in the file's custody history. Death closes online use except for the
purposes that need it (access/purposes.toml `after_death`). A move (户籍 and residence, or one of them)
changes the retiree's places and never sends the file by itself: where it takes the file out of the
bureau's area, the file waits for the retiree's 转入申请 (transfers/moves.py, 002 第二十二条).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.dossiers.models import CustodyEventKind, LifeEvent, LifeEventKind
from archive_service.dossiers.service import get_dossier, record_custody
from archive_service.errors import ArchiveError
from archive_service.transfers import moves
from archive_service.values import ValueRuleError, check_region_code


@dataclass(frozen=True)
class Recorded:
    event: LifeEvent
    move: moves.MoveOutcome | None = None  # for a move: where the file now belongs and what happens next


def record_life_event(
    session: Session,
    user: User,
    dossier_id: int,
    kind: str,
    occurred_on: date | None,
    source_document: str,
    region_code: str = "",
) -> Recorded:
    require(user, Action.record_life_events)
    dossier = get_dossier(session, user, dossier_id)
    retiree = dossier.retiree
    try:
        what = LifeEventKind(kind)
    except ValueError:
        names = "、".join(k.label for k in LifeEventKind)
        raise ArchiveError("life_event.kind", f"状态变动应为以下之一：{names}", "kind") from None
    if occurred_on is None:
        raise ArchiveError("occurred_on.required", "请填写发生日期", "occurred_on")
    if occurred_on > bureau_today():
        raise ArchiveError("occurred_on.future", f"发生日期 {occurred_on} 晚于今天", "occurred_on")
    if occurred_on < retiree.birth_date:
        raise ArchiveError("occurred_on.before_birth", f"发生日期 {occurred_on} 早于出生日期", "occurred_on")
    source = source_document.strip()
    if not 2 <= len(source) <= 200:
        raise ArchiveError(
            "source_document.required", "请写明依据的文书（如：死亡医学证明 编号…，2–200 字）", "source_document"
        )
    if retiree.deceased_date is not None:
        raise ArchiveError(
            "retiree.deceased", f"{retiree.name} 已于 {retiree.deceased_date} 登记死亡，不再登记其他变动", "kind", 409
        )
    region = region_code.strip()
    # Which of the retiree's places the move changes: 户籍, 常住地 (居住地) or both.
    changes = {LifeEventKind.moved: ("hukou", "residence"), LifeEventKind.moved_residence: ("residence",),
               LifeEventKind.moved_hukou: ("hukou",)}.get(what, ())  # fmt: skip
    if changes:
        try:
            region = check_region_code(region)
        except ValueRuleError as e:
            raise ArchiveError(e.code, f"迁入地区划代码：{e.message}", "region_code") from None
        places = {
            "hukou": ("户籍地", retiree.hukou_region_code),
            "residence": ("居住地", retiree.residence_region_code),
        }
        if all(places[c][1] == region for c in changes):
            said = "、".join(places[c][0] for c in changes)
            raise ArchiveError("region_code.unchanged", f"{said}已是 {region}", "region_code")
    elif region:
        raise ArchiveError("region_code.not_a_move", "只有迁居需要填写迁入地区划代码", "region_code")

    event = LifeEvent(
        retiree_id=retiree.id,
        kind=what,
        occurred_on=occurred_on,
        source_document=source,
        region_code=region or None,
        entered_by_id=user.id,
    )
    session.add(event)
    note = f"{what.label}（{occurred_on}，依据：{source}{f'，迁入地 {region}' if region else ''}）"
    record_custody(session, dossier, CustodyEventKind.life_event, actor=user, note=note)
    if what is LifeEventKind.death:
        retiree.deceased_date = occurred_on
    if not changes:
        return Recorded(event)
    if "hukou" in changes:
        retiree.hukou_region_code = region
    if "residence" in changes:
        retiree.residence_region_code = region
    session.flush()
    return Recorded(event, move=moves.outcome(session, dossier))


def life_events(session: Session, retiree_id: int) -> Sequence[LifeEvent]:
    return session.scalars(
        select(LifeEvent).where(LifeEvent.retiree_id == retiree_id).order_by(LifeEvent.occurred_on, LifeEvent.id)
    ).all()
