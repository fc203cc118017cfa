"""到馆查阅 at the 阅档室 (阅档登记): the archivist serves an approved on-site request in person.

晋宁 第八条(七) has the bureau run 查阅利用 under its rules, keeping the files 完整与安全; 004 第十八条 separates the
阅档室 from the store. A reading session records, in order:
  * opening — the reader's citizen ID checked against the one the request recorded, the staff present (as many
    as the bureau's setting asks; the seeds name no number, so the preset is 1: the archivist who serves), the time;
  * producing — materials chosen from the file's 卷内目录 (within the approved classes); the first takes the paper
    file off its slot to the 阅档室 (a custody event); a file already out — in another reading or on loan —
    is not produced twice;
  * copies — certified copies of produced materials, registered as every certified copy is (delivery.register_copy);
  * ending — the materials checked back against the catalogue, the file back to the same slot (a custody event).
Each step is on the access log in the transaction that makes it; a wrong ID is logged on its own and refused.
"""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive_service.access.delivery import register_copy
from archive_service.access.log import AccessAction, record_access, record_change
from archive_service.access.models import ReadingSession, RequestMode, RequestStatus, RetrievalRequest
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.dossiers.class_schemes import top_class
from archive_service.dossiers.models import CustodyEventKind, Dossier, DossierStatus, Material
from archive_service.dossiers.service import record_custody
from archive_service.errors import ArchiveError, NotFound
from archive_service.organisations.models import Organisation
from archive_service.shelving.models import ShelfSlot
from archive_service.values import check_citizen_id, mask_citizen_id

READING_BASIS = "晋宁 第八条(七) 查阅利用；004 第十八条 阅档室"
MAX_READING_STAFF = 5  # a setting above this is a typing slip, not a rule
STAFF_ROLES = (Role.archivist, Role.intake_clerk, Role.approver)  # the bureau's own people, who may be present


def staff_required(session: Session, bureau_id: int) -> int:
    bureau = session.get(Organisation, bureau_id)
    return bureau.reading_staff if bureau else 1


def set_reading_staff(session: Session, admin: User, staff: int, client: str) -> int:
    """How many of the bureau's staff must be present at a reading (a policy setting; the change is logged)."""
    require(admin, Action.set_space_policy)
    if not 1 <= staff <= MAX_READING_STAFF:
        raise ArchiveError(
            "reading_staff.range", f"阅档在场工作人员应为 1 至 {MAX_READING_STAFF} 人，实为 {staff}", "reading_staff"
        )
    bureau = session.get(Organisation, admin.organisation_id, with_for_update=True)
    assert bureau is not None
    before, bureau.reading_staff = bureau.reading_staff, staff
    what = f"{bureau.name} 到馆查阅在场工作人员（{READING_BASIS}）："
    record_change(session, admin, AccessAction.policy_changed, client, what, f"{before} 人", f"{staff} 人")
    return staff


def staff_to_choose(session: Session, archivist: User) -> list[User]:
    """Who may be named present: the bureau's active archivists, clerks and approvers."""
    return list(
        session.scalars(
            select(User)
            .where(User.organisation_id == archivist.organisation_id, User.active, User.role.in_(STAFF_ROLES))
            .order_by(User.display_name)
        )
    )


def sessions_of(session: Session, use_request: RetrievalRequest) -> list[ReadingSession]:
    return list(
        session.scalars(
            select(ReadingSession).where(ReadingSession.request_id == use_request.id).order_by(ReadingSession.id)
        )
    )


def open_reading_of(session: Session, request_id: int) -> ReadingSession | None:
    """The request's reading not yet ended (service.close_request refuses to conclude the request under it)."""
    return session.scalar(
        select(ReadingSession).where(ReadingSession.request_id == request_id, ReadingSession.ended_at.is_(None))
    )


def file_out_in(session: Session, dossier_id: int) -> ReadingSession | None:
    """The reading the paper file is out for, if it is out of its slot in the 阅档室 now."""
    return session.scalar(
        select(ReadingSession).where(
            ReadingSession.dossier_id == dossier_id,
            ReadingSession.out_at.is_not(None),
            ReadingSession.ended_at.is_(None),
        )
    )


def get_reading(session: Session, user: User, reading_id: int) -> ReadingSession:
    """Bureau staff only, and only their own bureau's readings (requesters see their request, not the desk)."""
    reading = session.get(ReadingSession, reading_id)
    if reading is None or reading.bureau_id != user.organisation_id or user.role is Role.requester:
        raise NotFound("该阅档登记", "reading_id")
    return reading


def _refuse(code: str, message: str, field: str, status: int = 409) -> ArchiveError:
    return ArchiveError(code, f"{message}（{READING_BASIS}）", field, status)


def open_reading(
    session: Session,
    archivist: User,
    use_request: RetrievalRequest,
    reader_citizen_id: str,
    other_staff: list[int],
    client: str,
) -> ReadingSession:
    """阅档登记 opened: the reader present with the ID the request recorded, the staff present named."""
    require(archivist, Action.serve_requests)
    if use_request.bureau_id != archivist.organisation_id:
        raise NotFound("该查阅申请", "request_id")
    if use_request.mode is not RequestMode.on_site:
        said = f"申请 {use_request.number} 的利用方式是{use_request.mode.label}，不是到馆查阅"
        raise _refuse("reading.not_on_site", said, "mode")
    if use_request.status is not RequestStatus.approved:
        raise _refuse(
            "reading.not_approved", f"申请 {use_request.number} {use_request.status.label}，不能到馆查阅", "status"
        )
    today = bureau_today()
    if not use_request.valid_from <= today <= use_request.valid_until:
        window = f"{use_request.valid_from} 至 {use_request.valid_until}"
        raise _refuse("request.outside_window", f"不在申请有效期内（{window}）", "valid_until")
    try:
        presented = check_citizen_id(reader_citizen_id)
    except ValueError as e:
        raise ArchiveError(getattr(e, "code", "citizen_id.format"), str(e), "reader_citizen_id") from None
    if presented != use_request.id_document:
        # On the log on its own connection: the refusal undoes the rest, the attempt stays for the auditor.
        record_access(
            session,
            archivist,
            AccessAction.reading_id_refused,
            client,
            dossier_id=use_request.dossier_id,
            request_id=use_request.id,
            detail=f"出示 {mask_citizen_id(presented)}，审批表登记 {mask_citizen_id(use_request.id_document)}",
        )
        raise _refuse(
            "reading.reader_id",
            f"查阅人出示的身份证件号码与申请 {use_request.number} 登记的查阅人（{use_request.reader_name}，"
            f"{mask_citizen_id(use_request.id_document)}）不符，不能阅档",
            "reader_citizen_id",
            403,
        )
    if open_reading_of(session, use_request.id) is not None:
        raise _refuse("reading.already_open", f"申请 {use_request.number} 已有未结束的阅档登记", "request_id")
    staff = [archivist, *_named_staff(session, archivist, other_staff)]
    required = staff_required(session, use_request.bureau_id)
    if len(staff) < required:
        raise _refuse(
            "reading.staff",
            f"本馆规定到馆查阅须有 {required} 名工作人员在场，现登记 {len(staff)} 名：请勾选在场的其他工作人员",
            "staff",
            422,
        )
    reading = ReadingSession(
        request_id=use_request.id,
        dossier_id=use_request.dossier_id,
        bureau_id=use_request.bureau_id,
        opened_by_id=archivist.id,
        staff_ids=[u.id for u in staff],
        started_at=datetime.now(UTC),
        materials=[],
        return_check="",
    )
    session.add(reading)
    use_request.handled_by_id = archivist.id
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.reading_opened,
        client,
        dossier_id=use_request.dossier_id,
        request_id=use_request.id,
        detail=f"阅档登记 {reading.id}：查阅人 {use_request.reader_name}"
        f"（{mask_citizen_id(presented)}，证件核对一致）；"
        f"在场工作人员 {'、'.join(u.display_name for u in staff)}",
        with_change=True,
    )
    return reading


def _named_staff(session: Session, archivist: User, ids: list[int]) -> list[User]:
    chosen = {u.id: u for u in staff_to_choose(session, archivist)}
    out = []
    for user_id in dict.fromkeys(ids):
        if user_id == archivist.id:
            continue
        if user_id not in chosen:
            raise ArchiveError("reading.staff_unknown", "在场工作人员须是本馆在职的工作人员", "staff")
        out.append(chosen[user_id])
    return out


def _still_open(reading: ReadingSession) -> None:
    if reading.ended_at is not None:
        raise _refuse("reading.ended", f"阅档登记 {reading.id} 已结束", "ended_at")


def produce(
    session: Session, archivist: User, reading: ReadingSession, material_ids: list[int], client: str
) -> ReadingSession:
    """Materials handed to the reader, chosen from the catalogue within the approved classes. The first takes
    the paper file off its slot to the 阅档室."""
    require(archivist, Action.serve_requests)
    _still_open(reading)
    use_request = session.get_one(RetrievalRequest, reading.request_id)
    dossier = session.get_one(Dossier, reading.dossier_id)
    wanted = list(dict.fromkeys(material_ids))
    if not wanted:
        raise ArchiveError("reading.materials", "请从卷内目录中选择提供查阅的材料", "materials")
    catalogue = {m.id: m for m in session.scalars(select(Material).where(Material.dossier_id == dossier.id))}
    for material_id in wanted:
        material = catalogue.get(material_id)
        if material is None:
            raise ArchiveError("reading.materials", "所选材料不在本档案的卷内目录中", "materials")
        if top_class(material.material_class.code) not in use_request.material_classes:
            raise _refuse(
                "reading.materials_not_approved",
                f"{material.sequence}《{material.title}》不在批准查阅的材料类别内",
                "materials",
                403,
            )
    new = [i for i in wanted if i not in reading.materials]
    if not new:
        raise ArchiveError("reading.materials", "所选材料均已提供", "materials")
    if reading.out_at is None:
        _take_out(session, archivist, reading, use_request, dossier)
    reading.materials = [*reading.materials, *new]
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.reading_produced,
        client,
        dossier_id=dossier.id,
        materials=new,
        request_id=use_request.id,
        detail=f"阅档登记 {reading.id}：提供 {len(new)} 份材料",
        with_change=True,
    )
    return reading


def paper_state(dossier: Dossier) -> str:
    """Why the paper is not at hand, as a refusal says it: a file a street keeps names its keeper and the way in."""
    if dossier.status is DossierStatus.held_elsewhere and dossier.held_by is not None:
        return f"由{dossier.held_by.name}保管（馆外保管），须先在档案页“收回入馆”"
    return f"当前为“{dossier.status.label}”"


def _take_out(
    session: Session, archivist: User, reading: ReadingSession, use_request: RetrievalRequest, dossier: Dossier
) -> None:
    if dossier.status is not DossierStatus.in_custody:
        said = f"档案 {dossier.archival_code} {paper_state(dossier)}，不能提供查阅"
        raise _refuse("reading.file_out", said, "dossier")
    elsewhere = file_out_in(session, dossier.id)
    if elsewhere is not None:
        other = session.get_one(RetrievalRequest, elsewhere.request_id)
        raise _refuse(
            "reading.file_out",
            f"档案 {dossier.archival_code} 已出库在阅档室（申请 {other.number}，阅档登记 {elsewhere.id}），"
            "归架前不能再次提供",
            "dossier",
        )
    slot = session.get(ShelfSlot, dossier.shelf_slot_id) if dossier.shelf_slot_id else None
    reading.out_at = datetime.now(UTC)
    reading.slot_id = slot.id if slot else None
    try:
        with session.begin_nested():  # two archivists at once: the index lets one file out once
            session.flush()
    except IntegrityError:
        raise _refuse(
            "reading.file_out", f"档案 {dossier.archival_code} 已出库在阅档室，归架前不能再次提供", "dossier"
        ) from None
    record_custody(
        session,
        dossier,
        CustodyEventKind.reading_out,
        actor=archivist,
        from_slot_id=reading.slot_id,
        note=f"{slot.label if slot else '未上架'} → 阅档室（申请 {use_request.number}，阅档登记 {reading.id}）",
    )


def register_copies(
    session: Session, archivist: User, reading: ReadingSession, material_ids: list[int], annotation: str, client: str
) -> int:
    """Copies of produced materials made in the 阅档室, certified and registered as every certified copy is."""
    require(archivist, Action.serve_requests)
    _still_open(reading)
    chosen = list(dict.fromkeys(material_ids))
    if not chosen or any(i not in reading.materials for i in chosen):
        raise ArchiveError("reading.copy_materials", "复制的材料须是本次已提供查阅的材料", "materials")
    use_request = session.get_one(RetrievalRequest, reading.request_id)
    return register_copy(
        session, archivist, use_request, annotation, client, materials=chosen, also=f"阅档登记 {reading.id} 现场复制"
    )


def end_reading(
    session: Session, archivist: User, reading: ReadingSession, complete: bool, note: str, client: str
) -> ReadingSession:
    """The reading ends: the materials checked back against the catalogue, the file back to its slot."""
    require(archivist, Action.serve_requests)
    if reading.bureau_id != archivist.organisation_id:
        raise NotFound("该阅档登记", "reading_id")
    _still_open(reading)
    said = note.strip()
    if reading.out_at is not None and not complete and not said:
        raise ArchiveError("reading.return_check", "收回时材料与目录不符，须写明缺少或损坏的情况", "note")
    if len(said) > 500:
        raise ArchiveError("reading.note", f"说明不超过 500 字，实为 {len(said)} 字", "note")
    use_request = session.get_one(RetrievalRequest, reading.request_id)
    dossier = session.get_one(Dossier, reading.dossier_id)
    reading.ended_at = datetime.now(UTC)
    reading.ended_by_id = archivist.id
    if reading.out_at is None:
        reading.return_check = said or "未提供材料"
    else:
        reading.return_check = ("按目录核对无误" if complete else "与目录不符：") + (said if not complete else "")
        if complete and said:
            reading.return_check += f"；{said}"
        # Back to the file's place: the slot it left (its home, kept for it while it was out).
        home = dossier.shelf_slot_id
        slot = session.get(ShelfSlot, home) if home else None
        record_custody(
            session,
            dossier,
            CustodyEventKind.reading_back,
            actor=archivist,
            to_slot_id=home,
            note=f"阅档室 → {slot.label if slot else '待上架'}（申请 {use_request.number}，阅档登记 {reading.id}："
            f"{reading.return_check}）",
        )
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.reading_ended,
        client,
        dossier_id=dossier.id,
        materials=reading.materials or None,
        request_id=use_request.id,
        detail=f"阅档登记 {reading.id} 结束：{reading.return_check}",
        with_change=True,
    )
    return reading
