"""Pages digitised against the file's page count on record (DA/T 31: the scan register compares the pages
scanned with the count in the register; a mismatch is scanned again, or its cause noted).

With a catalogue the pipeline holds the scans to the catalogue's total (which is then the file's count) and
refuses a mismatch. Without one the register's count is all there is: a mismatch is a QC warning on the copy
and an open check that keeps the file on the digitisation backlog until it is digitised again with pages
that agree, or an archivist counts the paper and records why the register differs (the file's count on
record then becomes the one counted). An archivist cannot explain away pages missing from the scans."""

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.digitisation.models import PageCountCheck
from archive_service.dossiers.models import DigitalObject, DigitisationState, Dossier
from archive_service.errors import ArchiveError
from digitise.catalogue import Catalogue
from digitise.findings import Finding, Severity
from digitise.page_record import PageRecord

REGISTER_COUNT = "page_count.register"


def finding(dossier: Dossier, catalogue: Catalogue | None, pages: Sequence[PageRecord]) -> Finding | None:
    """The warning for a copy whose pages do not agree with the file's count on record (blank backs may be
    counted or not), or None."""
    if (catalogue and catalogue.entries) or not dossier.pages:
        return None
    scanned = len(pages)
    content = sum(1 for p in pages if not p.blank)
    if dossier.pages in (scanned, content):
        return None
    return Finding(
        REGISTER_COUNT,
        Severity.warning,
        f"接收登记 {dossier.pages} 页，数字化 {scanned} 页（其中有内容 {content} 页），两者不符："
        "请核对纸质档案，漏扫的重新数字化；登记有误的由档案管理员核对后说明原因。核对前本档案仍列入待数字化清单",
        measured={"scanned": scanned, "with_content": content},
        rule={"registered": dossier.pages},
    )


def record(session: Session, actor: User, dossier: Dossier, use_copy: DigitalObject, found: Finding | None) -> None:
    """After a new copy is recorded: it closes the file's open check, and opens one of its own if it disagrees."""
    now = datetime.now(UTC)
    for check in session.scalars(_open(dossier.id)):
        check.resolved_at, check.resolved_by_id, check.resolution = now, actor.id, "redigitised"
    if found is not None:
        session.add(
            PageCountCheck(
                dossier_id=dossier.id,
                use_copy_id=use_copy.id,
                registered=found.rule["registered"],
                scanned=found.measured["scanned"],
                with_content=found.measured["with_content"],
            )
        )
    session.flush()


def explain(session: Session, user: User, dossier: Dossier, pages: int, reason: str) -> PageCountCheck:
    """The archivist counted the paper: it has the pages digitised, and the register was wrong, for `reason`."""
    require(user, Action.digitise)
    if dossier.custodian_id != user.organisation_id:
        raise ArchiveError("dossier.not_in_custody", "只能核对本馆保管的档案", "archival_code", 403)
    check = session.scalars(_open(dossier.id)).first()
    if check is None:
        raise ArchiveError("page_count.nothing_open", "该档案没有待核对的页数差异", "pages", 409)
    if pages not in (check.scanned, check.with_content):
        raise ArchiveError(
            "pages.not_digitised",
            f"纸质档案实有页数 {pages} 页与数字化的 {check.scanned} 页（有内容 {check.with_content} 页）不符："
            "缺少的页面须补扫后重新数字化，不能以说明代替",
            "pages",
            422,
        )
    reason = reason.strip()
    if len(reason) < 4:
        raise ArchiveError(
            "reason.required", "请写明页数与接收登记不符的原因（至少 4 个字），如“名册页数填写有误”", "reason", 422
        )
    check.resolved_at, check.resolved_by_id, check.resolution = datetime.now(UTC), user.id, "explained"
    check.verified_pages, check.reason = pages, reason[:500]
    dossier.pages = pages  # the count on record is now the one counted; the register row keeps what it said
    session.flush()
    return check


def latest(session: Session, dossier: Dossier) -> PageCountCheck | None:
    """The file's last check, if it is still open or was closed by an explanation (shown on the dossier page)."""
    check = session.scalars(
        select(PageCountCheck).where(PageCountCheck.dossier_id == dossier.id).order_by(PageCountCheck.id.desc())
    ).first()
    return check if check is not None and check.resolution != "redigitised" else None


def awaiting_digitisation() -> ColumnElement[bool]:
    """One rule for the backlog and the dossier list: not digitised, or digitised with an open page-count check."""
    return or_(
        Dossier.digitisation != DigitisationState.done,
        exists().where(PageCountCheck.dossier_id == Dossier.id, PageCountCheck.resolved_at.is_(None)),
    )


def _open(dossier_id: int) -> Select[PageCountCheck]:
    return select(PageCountCheck).where(PageCountCheck.dossier_id == dossier_id, PageCountCheck.resolved_at.is_(None))
