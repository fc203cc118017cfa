"""材料补充: materials formed after handover (000 §三(二)2, 002 第二十七条, 001 第九条(三)).

A clerk submits the material with its scans; an archivist reviews it. Approved, it becomes the next
item of its class in the catalogue (nothing existing is renumbered or replaced), flagged as added
after handover; if the dossier is digitised, a new use copy is built from the kept masters plus the
new scans with the pages at the material's place, all in the one transaction of the approval.
"""

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.config import get_settings
from archive_service.digitisation.service import latest_use_copy, rebuild_use_copy
from archive_service.dossiers.models import DigitalObject, Dossier
from archive_service.dossiers.schemas import MaterialIn
from archive_service.dossiers.service import add_material, get_dossier_by_code, material_class_of
from archive_service.errors import ArchiveError, NotFound
from archive_service.preservation.service import ingest
from archive_service.transfers.models import MaterialSupplement, SupplementStatus
from archive_service.uploads import scan_frames
from archive_service.values import ValueRuleError, check_partial_date
from digitise.sources import media_type_of
from storage import ObjectStore


@dataclass(frozen=True)
class SupplementForm:
    archival_code: str
    source: str
    class_code: str
    title: str
    pages: int
    date_formed: str = ""
    copies: int = 1
    remarks: str = ""


def submit(
    session: Session, store: ObjectStore, user: User, form: SupplementForm, scans: Sequence[Path]
) -> MaterialSupplement:
    """Record a supplementary material and keep its scans. The scans must hold exactly its pages."""
    require(user, Action.receive_transfers)
    dossier = get_dossier_by_code(session, user, form.archival_code)
    material_class_of(session, dossier, form.class_code.strip(), "class_code")
    if not 2 <= len(form.source.strip()) <= 200:
        raise ArchiveError("source.required", "请填写报送单位（2–200 字）", "source", 422)
    if not 1 <= len(form.title.strip()) <= 200:
        raise ArchiveError("title.required", "请填写材料名称（1–200 字）", "title", 422)
    if not 1 <= form.pages <= 2000:
        raise ArchiveError("pages.range", "页数须在 1–2000 之间", "pages", 422)
    if not 1 <= form.copies <= 100:
        raise ArchiveError("copies.range", "份数须在 1–100 之间", "copies", 422)
    date_formed = form.date_formed.strip()
    if date_formed:
        try:
            date_formed = check_partial_date(date_formed)
        except ValueRuleError as exc:
            raise ArchiveError(exc.code, exc.message, "date_formed", 422) from None
    frames = scan_frames(scans)
    if scans and frames != form.pages:
        raise ArchiveError("scans.page_count", f"扫描件共 {frames} 页，与填写的页数 {form.pages} 不符", "scans", 422)
    if not scans and dossier.digitisation.value == "done":
        raise ArchiveError("scans.required", "该档案已数字化，补充材料须同时提交扫描件", "scans", 422)
    supplement = MaterialSupplement(
        dossier_id=dossier.id,
        source=form.source.strip(),
        class_code=form.class_code.strip(),
        title=form.title.strip(),
        date_formed=date_formed or None,
        copies=form.copies,
        pages=form.pages,
        remarks=form.remarks.strip(),
        submitted_by_id=user.id,
        scan_names=[],
    )
    session.add(supplement)
    session.flush()
    names = []
    for n, scan in enumerate(scans, start=1):
        name = f"{dossier.archival_code}-BC{supplement.id:04d}-{n:02d}{scan.suffix.lower()}"
        ingest(session, store, dossier, scan, role="supplement_scan", name=name, media_type=media_type_of(scan))
        names.append(name)
    supplement.scan_names = names
    session.flush()
    return supplement


def visible(user: User):
    require(user, Action.view_dossiers)
    return (
        select(MaterialSupplement)
        .join(Dossier, Dossier.id == MaterialSupplement.dossier_id)
        .where(Dossier.custodian_id == user.organisation_id)
    )


def get(session: Session, user: User, supplement_id: int) -> MaterialSupplement:
    found = session.scalar(visible(user).where(MaterialSupplement.id == supplement_id))
    if found is None:
        raise NotFound("该补充材料", "supplement_id")
    return found


def waiting(session: Session, user: User) -> Sequence[MaterialSupplement]:
    query = visible(user).where(MaterialSupplement.status == SupplementStatus.submitted)
    return session.scalars(query.order_by(MaterialSupplement.id)).all()


def of_dossier(session: Session, user: User, dossier_id: int) -> Sequence[MaterialSupplement]:
    query = visible(user).where(MaterialSupplement.dossier_id == dossier_id)
    return session.scalars(query.order_by(MaterialSupplement.id)).all()


def review(
    session: Session,
    store: ObjectStore,
    user: User,
    supplement_id: int,
    approve: bool,
    note: str = "",
    *,
    work_root: Path | None = None,
) -> MaterialSupplement:
    """The archivist's decision. Approving adds the catalogue entry and, for a digitised dossier,
    builds the new use copy; if that fails nothing of the approval is kept."""
    require(user, Action.register_dossier)
    supplement = session.scalar(
        visible(user).where(MaterialSupplement.id == supplement_id).with_for_update(of=MaterialSupplement)
    )
    if supplement is None:
        raise NotFound("该补充材料", "supplement_id")
    if supplement.status is not SupplementStatus.submitted:
        raise ArchiveError("supplement.reviewed", f"该补充材料已{supplement.status.label}", "supplement_id", 409)
    if not approve and not note.strip():
        raise ArchiveError("note.required", "不予归档须写明理由", "note", 422)
    supplement.status = SupplementStatus.approved if approve else SupplementStatus.rejected
    supplement.reviewed_by_id, supplement.reviewed_at = user.id, datetime.now(UTC)
    supplement.review_note = note.strip()
    if approve:
        dossier = session.get(Dossier, supplement.dossier_id)
        assert dossier is not None
        digitised = latest_use_copy(session, dossier) is not None
        material = add_material(
            session,
            dossier,
            MaterialIn(
                class_code=supplement.class_code,
                title=supplement.title,
                date_formed=supplement.date_formed,
                copies=supplement.copies,
                pages=supplement.pages,
                remarks=(supplement.remarks + f"（{supplement.source}报送，补充）").strip(),
            ),
            added_after_handover=True,
            field="supplement",
        )
        supplement.material_id = material.id
        if digitised:
            _digitise_pages(session, store, user, dossier, supplement, material.id, work_root)
    session.flush()
    return supplement


def _digitise_pages(
    session: Session,
    store: ObjectStore,
    user: User,
    dossier: Dossier,
    supplement: MaterialSupplement,
    material_id: int,
    work_root: Path | None,
) -> None:
    scans = {
        o.name: o
        for o in session.scalars(
            select(DigitalObject).where(
                DigitalObject.dossier_id == dossier.id, DigitalObject.name.in_(supplement.scan_names)
            )
        )
    }
    work_root = work_root or get_settings().digitise_work_dir
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="supplement-", dir=work_root) as tmp:
        paths = []
        for name in supplement.scan_names:
            path = Path(tmp) / name
            with path.open("wb") as out:
                for chunk in store.open(scans[name].storage_key):
                    out.write(chunk)
            paths.append(path)
        outcome = rebuild_use_copy(session, store, user, dossier, {material_id: paths}, work_root=work_root)
    if not outcome.ok:
        raise ArchiveError(
            "supplement.digitise_failed",
            f"补充材料的页面未能并入数字副本，未归档：{outcome.report}",
            "supplement_id",
            422,
        )
