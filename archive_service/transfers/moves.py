"""A move does not send the file by itself. 晋政办通〔2020〕18号 第二十二条: when the retiree's 长期居住地（或者
户口所在地） changes, the retiree 提出转入申请 to the new place, and the relationship and the file move on it;
红政办规〔2020〕6号 第三条: 根据本人申请; 第四条 (002): 就近、就便、自愿. So a recorded move whose new place
takes the file out of the bureau's area (by its own rule, organisations/jurisdiction.py) waits for the
retiree's 转入申请; the archivist records the application (its date, the bureau applied to, the document
and its scan if any) and that starts the 转递. Under a 户籍 rule (西人社发〔2020〕14号 五) a change of
常住地 alone moves nothing.
"""

import mimetypes
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.dossiers.models import MOVES, Dossier, DossierStatus, LifeEvent
from archive_service.errors import ArchiveError, NotFound
from archive_service.organisations import jurisdiction
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.preservation.service import ingest
from archive_service.transfers.models import TransferApplication
from archive_service.transfers.onward import send_onward
from archive_service.uploads import scan_frames
from storage import ObjectStore

BASIS = "晋政办通〔2020〕18号 第二十二条"  # the retiree applies to the new place; the file follows the application
APPLICATION_SCAN = "transfer_application"  # DigitalObject.role of the application's scan


@dataclass(frozen=True)
class MoveOutcome:
    """Where the file belongs after the retiree's moves, by the bureau's rule, and what happens next."""

    elsewhere: jurisdiction.Elsewhere | None  # None: still this bureau's
    belongs_to: str  # the bureau's name, or 区划 … 所在地的档案馆
    target: Organisation | None  # that bureau, where it is in this installation
    next_step: str  # in the bureau's words, for the clerk


def outcome(session: Session, dossier: Dossier) -> MoveOutcome:
    bureau = session.get(Organisation, dossier.custodian_id)
    assert bureau is not None
    rule = jurisdiction.rule_of(bureau)
    text = jurisdiction.RULES[rule]
    r = dossier.retiree
    elsewhere = jurisdiction.place_of_file(
        rule, jurisdiction.area_prefix(bureau), r.enterprise, r.hukou_region_code, r.residence_region_code,
        r.insured_region_code,
    )  # fmt: skip
    if elsewhere is None:
        return MoveOutcome(
            None, bureau.name, bureau,
            f"依据{text.basis}（{text.name}），迁居后档案仍属本馆（户籍地 {r.hukou_region_code}、"
            f"居住地 {r.residence_region_code}），不办理转递。",
        )  # fmt: skip
    others = session.scalars(jurisdiction.BUREAUS.where(Organisation.id != bureau.id)).all()
    target = jurisdiction.bureau_for(others, elsewhere.code)
    name = jurisdiction.bureau_namer(others)(elsewhere.code)
    return MoveOutcome(
        elsewhere, name, target,
        f"{elsewhere.reason} 已不在本馆辖区（{text.basis}）。依据{BASIS}，档案不随迁居自动转出：待退休人员向迁入地"
        f"（{name}）提出转入申请后，登记申请，据此办理转递。",
    )  # fmt: skip


def application_of(session: Session, event_id: int) -> TransferApplication | None:
    return session.scalar(select(TransferApplication).where(TransferApplication.life_event_id == event_id))


def latest_move(session: Session, retiree_id: int) -> LifeEvent | None:
    return session.scalars(
        select(LifeEvent)
        .where(LifeEvent.retiree_id == retiree_id, LifeEvent.kind.in_(MOVES))
        .order_by(LifeEvent.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class DossierMove:
    """The file's latest move as its page shows it: where the file belongs now, and the application if any."""

    event: LifeEvent
    outcome: MoveOutcome
    application: TransferApplication | None
    bureaus: list[Organisation]  # where an application may have gone: the new place's bureau first

    @property
    def awaits_application(self) -> bool:
        return self.outcome.elsewhere is not None and self.application is None


def dossier_move(session: Session, dossier: Dossier) -> DossierMove | None:
    move = latest_move(session, dossier.retiree_id)
    if move is None:
        return None
    where = outcome(session, dossier)
    applied = application_of(session, move.id)
    bureaus: list[Organisation] = []
    if where.elsewhere is not None and applied is None:
        others = session.scalars(
            jurisdiction.BUREAUS.where(Organisation.id != dossier.custodian_id).order_by(Organisation.name)
        ).all()
        bureaus = sorted(others, key=lambda b: b is not where.target)
    return DossierMove(move, where, applied, bureaus)


@dataclass(frozen=True)
class AwaitingMove:
    event: LifeEvent
    dossier: Dossier
    outcome: MoveOutcome


def awaiting(session: Session, user: User) -> list[AwaitingMove]:
    """The bureau's files whose retiree's last move took them out of its area and for which no 转入申请 is
    recorded yet: the archivist's list to follow up, oldest move first."""
    require(user, Action.record_life_events)
    applied = exists().where(TransferApplication.life_event_id == LifeEvent.id)
    rows = session.execute(
        select(LifeEvent, Dossier)
        .join(Dossier, Dossier.retiree_id == LifeEvent.retiree_id)
        .where(
            LifeEvent.kind.in_(MOVES),
            Dossier.custodian_id == user.organisation_id,
            Dossier.status == DossierStatus.in_custody,
            ~applied,
        )
        .order_by(LifeEvent.occurred_on, LifeEvent.id)
    ).all()
    last: dict[int, tuple[LifeEvent, Dossier]] = {}
    for event, dossier in rows:  # only the retiree's latest move decides where the file belongs
        if event.retiree_id not in last or event.id > last[event.retiree_id][0].id:
            last[event.retiree_id] = (event, dossier)
    found = [AwaitingMove(e, d, outcome(session, d)) for e, d in last.values()]
    return sorted((m for m in found if m.outcome.elsewhere), key=lambda m: (m.event.occurred_on, m.event.id))


def record_application(
    session: Session,
    store: ObjectStore,
    user: User,
    dossier: Dossier,
    applied_on: date | None,
    to_org_id: int | None,
    document: str,
    scan: Path | None = None,
) -> TransferApplication:
    """The retiree's 转入申请 for the file's latest move: recorded with its document (and scan), and the 转递
    to the bureau applied to started from it. Every refusal names the rule."""
    require(user, Action.send_onward)
    if dossier.custodian_id != user.organisation_id:
        raise NotFound("该档案", "dossier_id")
    move = latest_move(session, dossier.retiree_id)
    if move is None:
        raise ArchiveError("move.none", f"依据{BASIS}，转入申请因迁居而提出：本档案未登记迁居", "dossier_id", 409)
    earlier = application_of(session, move.id)
    if earlier is not None:
        raise ArchiveError(
            "application.recorded",
            f"该迁居已于 {earlier.applied_on} 登记转入申请（转递批次 {earlier.onward_batch.number}）",
            "dossier_id",
            409,
        )
    if dossier.status is not DossierStatus.in_custody:
        raise ArchiveError("dossier.status", f"档案状态为{dossier.status.label}，在馆的档案才能转递", "dossier_id", 409)
    where = outcome(session, dossier)
    if where.elsewhere is None:
        raise ArchiveError("application.stays", f"不办理转递：{where.next_step}", "dossier_id", 409)
    if applied_on is None:
        raise ArchiveError("applied_on.required", "请填写转入申请日期", "applied_on", 422)
    if not move.occurred_on <= applied_on <= bureau_today():
        raise ArchiveError(
            "applied_on.range",
            f"申请日期应在迁居日 {move.occurred_on} 与今天之间，实为 {applied_on}",
            "applied_on",
            422,
        )
    to_org = session.get(Organisation, to_org_id) if to_org_id else None
    if to_org is None or to_org.kind is not OrganisationKind.bureau or to_org.id == user.organisation_id:
        raise ArchiveError("to_org_id.bureau", "请选择退休人员提出转入申请的档案馆", "to_org_id", 422)
    if where.target is None:
        raise ArchiveError(
            "to_org_id.not_registered",
            f"{where.belongs_to}尚未在本系统登记：请系统管理员先登记该档案馆（单位），再登记转入申请",
            "to_org_id",
            409,
        )
    if to_org.id != where.target.id:
        raise ArchiveError(
            "to_org_id.not_new_place",
            f"依据{BASIS}，转入申请向迁入地（现居住地或户口所在地）提出："
            f"{where.elsewhere.reason} 属{where.belongs_to}，不属{to_org.name}",
            "to_org_id",
            422,
        )
    reference = document.strip()
    if len(reference) > 200:
        raise ArchiveError("document.length", "申请文书编号最多 200 字", "document", 422)
    stored_scan = None
    if scan is not None:
        try:  # an image or PDF that opens, or a named refusal before anything is stored
            pages = scan_frames([scan])
        except ArchiveError as refused:
            raise ArchiveError(refused.code, refused.message, "application_scan", refused.status) from None
        stored_scan = ingest(
            session, store, dossier, scan, role=APPLICATION_SCAN,
            name=f"{dossier.archival_code}-转入申请-{applied_on:%Y%m%d}{scan.suffix.lower()}",
            media_type=mimetypes.guess_type(scan.name)[0] or "application/octet-stream", pages=pages,
        )  # fmt: skip
    said = f"，{reference}" if reference else ""
    note = f"转入申请（{applied_on}{said}）：{move.kind.label}，迁入地 {move.region_code}（{BASIS}）"
    batch = send_onward(session, user, to_org.id, [dossier.archival_code], note)
    application = TransferApplication(
        life_event_id=move.id,
        dossier_id=dossier.id,
        applied_on=applied_on,
        to_org_id=to_org.id,
        document=reference,
        scan_id=stored_scan.id if stored_scan else None,
        onward_batch_id=batch.id,
        recorded_by_id=user.id,
        recorded_at=datetime.now(UTC),
    )
    session.add(application)
    session.flush()
    return application
