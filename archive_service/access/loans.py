"""Paper loans at the archivist's desk (借阅原件): lending under an approved request for at most
MAX_LOAN_DAYS, taking back, and the loans that are overdue."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access import reading
from archive_service.access.log import AccessAction, record_access
from archive_service.access.models import RequestMode, RequestStatus, RetrievalRequest
from archive_service.access.service import MAX_LOAN_DAYS
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.dossiers.models import (
    CustodyEventKind,
    Dossier,
    DossierStatus,
)
from archive_service.dossiers.service import record_custody
from archive_service.errors import ArchiveError


def lend(session: Session, archivist: User, use_request: RetrievalRequest, client: str) -> RetrievalRequest:
    require(archivist, Action.serve_requests)
    dossier = session.get(Dossier, use_request.dossier_id)
    assert dossier is not None
    if use_request.mode is not RequestMode.paper_loan or use_request.status is not RequestStatus.approved:
        raise ArchiveError("loan.not_approved", "只有已批准的借阅原件申请可以出借", "mode", 409)
    if use_request.loan_out_at is not None:
        raise ArchiveError("loan.already_out", f"申请 {use_request.number} 已出借", "loan_out_at", 409)
    if reading.file_out_in(session, dossier.id) is not None:
        raise ArchiveError(
            "loan.in_reading", f"档案 {dossier.archival_code} 正在阅档室查阅，归架后才能出借", "status", 409
        )
    if dossier.status is not DossierStatus.in_custody:
        raise ArchiveError("loan.not_in_custody", f"档案{reading.paper_state(dossier)}，不能出借", "status", 409)
    today = bureau_today()
    if not use_request.valid_from <= today <= use_request.valid_until:
        raise ArchiveError("request.outside_window", "不在申请有效期内", "valid_until", 409)
    use_request.loan_out_at = datetime.now(UTC)
    use_request.loan_due = min(today + timedelta(days=MAX_LOAN_DAYS - 1), use_request.valid_until)
    use_request.handled_by_id = archivist.id
    dossier.status = DossierStatus.on_loan
    record_custody(
        session,
        dossier,
        CustodyEventKind.loaned,
        actor=archivist,
        from_org_id=dossier.custodian_id,
        to_org_id=use_request.requester_org_id,
        note=f"{use_request.number}，应还日期 {use_request.loan_due}",
    )
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.loan_out,
        client,
        dossier_id=dossier.id,
        request_id=use_request.id,
        detail=f"应还 {use_request.loan_due}",
        with_change=True,
    )
    return use_request


def take_back(
    session: Session, archivist: User, use_request: RetrievalRequest, complete: bool, note: str, client: str
) -> RetrievalRequest:
    require(archivist, Action.serve_requests)
    if use_request.loan_out_at is None or use_request.loan_returned_at is not None:
        raise ArchiveError("loan.not_out", f"申请 {use_request.number} 没有在借的原件", "loan_out_at", 409)
    if not complete and not note.strip():
        raise ArchiveError("loan.return_check", "归还时材料与目录不符，须写明缺少或损坏的情况", "note")
    dossier = session.get(Dossier, use_request.dossier_id)
    assert dossier is not None
    use_request.loan_returned_at = datetime.now(UTC)
    use_request.return_check = ("按目录核对无误" if complete else "与目录不符：") + note.strip()
    use_request.status = RequestStatus.closed
    dossier.status = DossierStatus.in_custody
    record_custody(
        session,
        dossier,
        CustodyEventKind.returned,
        actor=archivist,
        from_org_id=use_request.requester_org_id,
        to_org_id=dossier.custodian_id,
        note=f"{use_request.number}：{use_request.return_check}",
    )
    session.flush()
    record_access(
        session,
        archivist,
        AccessAction.loan_return,
        client,
        dossier_id=dossier.id,
        request_id=use_request.id,
        detail=use_request.return_check,
        with_change=True,
    )
    return use_request


def overdue_loans(session: Session, organisation_id: int, today: date | None = None) -> list[RetrievalRequest]:
    return list(
        session.scalars(
            select(RetrievalRequest)
            .join(Dossier, RetrievalRequest.dossier_id == Dossier.id)
            .where(
                Dossier.custodian_id == organisation_id,
                RetrievalRequest.loan_out_at.is_not(None),
                RetrievalRequest.loan_returned_at.is_(None),
                RetrievalRequest.loan_due < (today or bureau_today()),
            )
            .order_by(RetrievalRequest.loan_due)
        )
    )
