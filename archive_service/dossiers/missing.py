"""Missing materials (001 第九条(一): 缺失的材料由原单位出具证明): what a file lacks, in which class, and the
certificate vouching for it — a scan stored with the file and checksummed like every object (so the
fixity checks and replication cover it). A requester granted that class sees the certificate beside
the pages, watermarked and logged like a page.

The register's 缺失材料 column says what an enterprise declared missing; this is the record the
bureau keeps once it holds the certificate."""

import io
import mimetypes
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.access import watermark
from archive_service.auth.models import User
from archive_service.dossiers import catalogue, catalogue_rows
from archive_service.dossiers.models import Dossier, MissingMaterial
from archive_service.errors import ArchiveError, Forbidden, NotFound
from archive_service.preservation.service import ingest
from archive_service.transfers.models import TransferItem
from archive_service.uploads import scan_frames
from digitise.options import DigitiseOptions
from digitise.sources import load, pages_of
from storage import ObjectStore

CERTIFICATE = "missing_cert"  # DigitalObject.role of the scans


def declared(session: Session, dossier: Dossier) -> str:
    """What the enterprise's register said the file lacks (缺失材料), if it came through intake."""
    notes = session.scalars(
        select(TransferItem.missing_materials).where(
            TransferItem.dossier_id == dossier.id, TransferItem.missing_materials != ""
        )
    ).all()
    return "；".join(dict.fromkeys(notes))


def missing_of(session: Session, dossier_id: int) -> list[MissingMaterial]:
    return list(
        session.scalars(
            select(MissingMaterial).where(MissingMaterial.dossier_id == dossier_id).order_by(MissingMaterial.id)
        )
    )


def record_missing(
    session: Session,
    store: ObjectStore,
    user: User,
    dossier: Dossier,
    class_code: str,
    description: str,
    issued_by: str,
    scan: Path,
) -> MissingMaterial:
    """Record one missing material with its certificate scan; every problem of the form named at once."""
    if not catalogue.may_edit(session, user, dossier):
        raise Forbidden("只有档案管理员（或接收中批次的登记员）可以登记缺失材料")
    problems: list[tuple[str, str, str]] = []
    material_class = catalogue_rows.scheme_classes(session, dossier.class_scheme).get(class_code.strip())
    if material_class is None:
        problems.append(("class_code", "class_code.unknown", f"类号 {class_code or '（空）'} 不在本档案的分类方案中"))
    what, who = description.strip(), issued_by.strip()
    if not 2 <= len(what) <= 200:
        problems.append(("description", "description.required", "请写明缺失的材料（2–200 字）"))
    if not 2 <= len(who) <= 200:
        problems.append(("issued_by", "issued_by.required", "请写明出具证明的单位（2–200 字）"))
    if problems:
        field, code, message = problems[0]
        raise ArchiveError(code, "；".join(p[2] for p in problems), field, 422)
    try:  # an image or PDF that opens, or a named refusal before anything is stored
        pages = scan_frames([scan])
    except ArchiveError as refused:
        raise ArchiveError(refused.code, refused.message, "certificate", refused.status) from None
    seq = (
        session.scalar(
            select(func.count()).select_from(MissingMaterial).where(MissingMaterial.dossier_id == dossier.id)
        )
        or 0
    ) + 1
    stored = ingest(
        session,
        store,
        dossier,
        scan,
        role=CERTIFICATE,
        name=f"{dossier.archival_code}-缺失材料证明-{seq:02d}{scan.suffix.lower()}",
        media_type=mimetypes.guess_type(scan.name)[0] or "application/octet-stream",
        pages=pages,
    )
    entry = MissingMaterial(
        dossier_id=dossier.id,
        material_class_id=material_class.id,  # type: ignore[union-attr]
        description=what,
        issued_by=who,
        certificate_id=stored.id,
        recorded_by_id=user.id,
        recorded_at=datetime.now(UTC),
    )
    session.add(entry)
    session.flush()
    return entry


def granted(session: Session, dossier_id: int, classes: list[int]) -> list[MissingMaterial]:
    """The missing materials in the top classes a request was granted."""
    return [m for m in missing_of(session, dossier_id) if m.material_class.top_class in classes]


def find_granted(session: Session, dossier_id: int, classes: list[int], missing_id: int) -> MissingMaterial:
    for m in granted(session, dossier_id, classes):
        if m.id == missing_id:
            return m
    raise NotFound("批准范围内没有这份缺失材料证明")


def certificate_page(store: ObjectStore, entry: MissingMaterial, page: int, lines: list[str]) -> bytes:
    """Page `page` (1-based) of the certificate as a watermarked JPEG, VIEW_WIDTH wide like use-copy pages."""
    obj = entry.certificate
    if not 1 <= page <= (obj.pages or 1):
        raise ArchiveError("page.range", f"证明共 {obj.pages or 1} 页，没有第 {page} 页", "page", 404)
    suffix = Path(obj.name).suffix
    with tempfile.TemporaryDirectory(prefix="certificate-") as tmp:
        path = Path(tmp) / f"scan{suffix}"
        with path.open("wb") as out:
            for chunk in store.open(obj.storage_key):
                out.write(chunk)
        max_pixels = DigitiseOptions().max_image_pixels
        image, _dpi = load(pages_of(path, max_pixels)[page - 1], max_pixels)
    image = image.convert("RGB")
    image = image.resize((watermark.VIEW_WIDTH, round(image.height * watermark.VIEW_WIDTH / image.width)))
    buf = io.BytesIO()
    watermark.watermark(image, lines).save(buf, "JPEG", quality=80)
    return buf.getvalue()
