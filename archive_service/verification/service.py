"""校对与复核: what a clerk checks on a digitised file, each step recorded, and the crop each reading came from.

A reading is 机器识别 until someone accepts or corrects it (已校对), and 已复核 only when a second person —
not the one whose acceptance or correction set the value — confirms the value as it stands. A correction
starts the count again. Every step names the version of the reading it saw: a step on a value someone
else changed in the meantime is refused with what they did, and the typed value stays on the page.
The corrected text goes into the page texts (the fact sheet and the search index read them) at once.
"""

import io
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from threading import Lock

import pikepdf
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.config import get_settings
from archive_service.db import in_bureau_time, show_time
from archive_service.digitisation.service import latest_sidecar, latest_use_copy
from archive_service.dossiers.facts import normalised
from archive_service.dossiers.models import DigitalObject, Dossier, PageText
from archive_service.errors import ArchiveError, NotFound
from archive_service.preservation.service import ingest
from archive_service.verification.layer import Reading, corrected_text_layers, page_texts, page_widths, readings_of
from archive_service.verification.models import ReadingCheck, Step
from digitise import citizen_id
from digitise.pdf import replace_text_layer
from digitise.sources import page_images
from storage import ObjectStore

# Lines the OCR was less sure of than this (0–100) are listed for checking, lowest first.
LINE_CONFIDENCE_BELOW = 90.0
LINE_MAX = 500


@dataclass
class Worklist:
    dossier: Dossier
    facts: list[Reading]  # every fact value, page by page
    lines: list[Reading]  # lines under the threshold or already checked, lowest confidence first

    @property
    def all(self) -> list[Reading]:
        return self.facts + self.lines


def checks_of(session: Session, dossier: Dossier) -> list[ReadingCheck]:
    return list(session.scalars(select(ReadingCheck).where(ReadingCheck.dossier_id == dossier.id)))


def readings(session: Session, store: ObjectStore, dossier: Dossier) -> list[Reading]:
    """Every reading of the dossier's current copy with its checks ([] before it is digitised)."""
    card = latest_sidecar(session, store, dossier)
    return readings_of(card, checks_of(session, dossier)) if card else []


def _may_check(user: User, dossier: Dossier) -> None:
    require(user, Action.proofread)
    if dossier.custodian_id != user.organisation_id:
        raise ArchiveError("dossier.not_in_custody", "只能校对本馆保管的档案", "dossier_id", 403)


def worklist(
    session: Session, store: ObjectStore, user: User, dossier: Dossier, below: float = LINE_CONFIDENCE_BELOW
) -> Worklist:
    _may_check(user, dossier)
    if latest_use_copy(session, dossier) is None:
        raise ArchiveError(
            "dossier.not_digitised", f"{dossier.archival_code} 尚未数字化，没有可校对的文字", "dossier_id", 409
        )
    found = readings(session, store, dossier)
    facts = [r for r in found if r.target != "line"]
    lines = [r for r in found if r.target == "line" and (r.checks or (r.confidence or 0) < below)]
    return Worklist(dossier, facts, sorted(lines, key=lambda r: (r.confidence or 0, r.page, r.box[1])))


def _value(reading: Reading, typed: str) -> str:
    """The typed value checked by its kind's rule, as the sheet writes it."""
    value = typed.strip()
    if not value:
        raise ArchiveError("reading.value_missing", f"请填写{reading.label}（第 {reading.page} 页）", "value")
    if reading.target == "line":
        if len(value) > LINE_MAX:
            raise ArchiveError("reading.value_too_long", f"一行文字最多 {LINE_MAX} 个字符", "value")
        return value
    if reading.target == "citizen_id":
        value = value.upper()
        try:
            valid = citizen_id.is_valid(citizen_id.upgrade(value) if len(value) == 15 else value)
        except citizen_id.CitizenIdError:
            valid = False
        if not valid:
            raise ArchiveError(
                "reading.citizen_id", "公民身份号码应为 18 位（末位校验码须相符）或 15 位旧号码", "value"
            )
        return value
    if reading.target == "name":
        if len(value) > 20:
            raise ArchiveError("reading.value_too_long", "姓名最多 20 个字符", "value")
        return value
    return normalised(reading.target, value)  # dates as ISO, partial as typed; words trimmed


def _stale(reading: Reading) -> ArchiveError:
    if not reading.checks:  # a version from a page older than the readings (the file was read again since)
        return ArchiveError(
            "reading.changed",
            f"第 {reading.page} 页的{reading.label}尚无校对记录，与您页面上的版本不符，您的输入未保存；请刷新页面",
            "version",
            409,
        )
    last = reading.checks[-1]
    did = {Step.accepted: "校对确认", Step.corrected: "更正", Step.reviewed: "复核"}[Step(last.step)]
    return ArchiveError(
        "reading.changed",
        f"第 {reading.page} 页的{reading.label}刚由{last.actor.display_name}于 {show_time(last.at)} {did}为"
        f"“{reading.value}”，您的输入未保存；请核对新值后再提交",
        "version",
        409,
    )


def find(session: Session, store: ObjectStore, dossier: Dossier, ref: str) -> Reading:
    reading = next((r for r in readings(session, store, dossier) if r.ref == ref), None)
    if reading is None:
        raise NotFound(f"编号为 {ref} 的识别结果（该档案可能已重新识别，请刷新页面）", "ref")
    return reading


def check(
    session: Session, store: ObjectStore, user: User, dossier: Dossier, ref: str, typed: str, version: int
) -> Reading:
    """Enter on a reading: the value as typed accepts it (校对), confirms another person's value (复核), or
    corrects it. `version` is the reading's version the person saw."""
    _may_check(user, dossier)
    reading = find(session, store, dossier, ref)
    if version != reading.version:
        raise _stale(reading)
    value = _value(reading, typed)
    entry = reading.entry
    if value != reading.value:
        step = Step.corrected
    elif entry is None:
        step = Step.accepted
    elif reading.state == "reviewed":
        return reading  # confirmed already: nothing to add
    elif entry.actor_id == user.id:
        raise ArchiveError(
            "reading.same_person",
            f"第 {reading.page} 页的{reading.label}由您本人{'更正' if entry.step == Step.corrected else '校对'}，"
            "须由另一人复核（双人复核）",
            "value",
            409,
        )
    else:
        step = Step.reviewed
    x0, y0, x1, y1 = reading.box
    row = ReadingCheck(
        dossier_id=dossier.id, reading=reading.key, source_sha256=reading.source_sha256,
        source_frame=reading.source_frame, target=reading.target, x0=x0, y0=y0, x1=x1, y1=y1, page=reading.page,
        version=reading.version + 1, step=step.value, before=reading.value, after=value, actor_id=user.id,
    )  # fmt: skip
    try:
        with session.begin_nested():  # the unique version: of two steps at one moment, one is kept
            session.add(row)
    except IntegrityError:
        session.expire_all()
        raise _stale(find(session, store, dossier, ref)) from None
    reading.checks.append(row)
    if step == Step.corrected:
        write_page_texts(session, store, dossier, [reading.page])
    return reading


def write_page_texts(session: Session, store: ObjectStore, dossier: Dossier, pages: list[int] | None = None) -> None:
    """The page texts (fact sheet, search index) as the OCR read them with every correction written in."""
    card = latest_sidecar(session, store, dossier)
    if card is None:
        return
    for page, text in page_texts(card, checks_of(session, dossier)).items():
        row = session.get(PageText, (dossier.id, page)) if pages is None or page in pages else None
        if row is not None and row.text != text:
            row.text = text
    session.flush()


def write_into_use_copy(session: Session, store: ObjectStore, user: User, dossier: Dossier) -> DigitalObject:
    """The next version of the use copy with the corrected text in its text layer (the viewer's selection, a
    download's search); every page image as it was, the old version kept."""
    _may_check(user, dossier)
    copy, card = latest_use_copy(session, dossier), latest_sidecar(session, store, dossier)
    layers = corrected_text_layers(card, checks_of(session, dossier)) if copy and card else {}
    if copy is None or card is None or not layers:
        raise ArchiveError("reading.nothing_corrected", "尚无更正过的文字，数字副本无需更新", None, 409)
    work_root = get_settings().digitise_work_dir
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="corrected-", dir=work_root) as tmp:
        before, after = Path(tmp) / "before.pdf", Path(tmp) / copy.name
        with before.open("wb") as out:
            for chunk in store.open(copy.storage_key):
                out.write(chunk)
        replace_text_layer(before, layers, page_widths(card), in_bureau_time(datetime.now(UTC)), after)
        return ingest(
            session, store, dossier, after, role="use_copy", name=copy.name, media_type=copy.media_type,
            pages=copy.pages, pdfa_level=copy.pdfa_level, ocr_engine=copy.ocr_engine,
            ocr_languages=copy.ocr_languages, page_confidence=copy.page_confidence, qc_results=copy.qc_results,
            pipeline_version=copy.pipeline_version,
        )  # fmt: skip


def crop_box(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """The box with a character's width around it left and right and a third of one above and below: the box of
    a value is estimated from its line's words, so its first and last strokes may lie just outside it."""
    x0, y0, x1, y1 = box
    across, down = y1 - y0, (y1 - y0) // 3
    return max(0, x0 - across), max(0, y0 - down), min(width, x1 + across), min(height, y1 + down)


def region_of(image: Image.Image, box: tuple[int, int, int, int], page_size: tuple[int, int]) -> Image.Image:
    """The crop of a box (page pixels) on a use-copy page image, at the page's pixel size. The image may have
    fewer pixels than the page (a colour or grey page at 200 dpi): the box is scaled onto it and the crop back
    to the page's size, so it shows the same region, as large on screen as before."""
    width, height = page_size if page_size[0] > 0 else image.size  # a sidecar without sizes: the image's own
    x0, y0, x1, y1 = crop_box(box, width, height)
    if image.size == (width, height):
        return image.crop((x0, y0, x1, y1))
    sx, sy = image.width / width, image.height / height
    return image.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS, box=(x0 * sx, y0 * sy, x1 * sx, y1 * sy))


class _Pages:
    """The last few use-copy page images as embedded (200 dpi for colour and grey pages: `region_of` scales boxes
    onto them); a clerk works page by page, so crops come in runs."""

    def __init__(self, size: int = 4) -> None:
        self.items: OrderedDict[tuple[str, int], Image.Image] = OrderedDict()
        self.size = size
        self.lock = Lock()

    def get(self, store: ObjectStore, key: str, page: int) -> Image.Image | None:
        with self.lock:
            if (key, page) in self.items:
                self.items.move_to_end((key, page))
                return self.items[(key, page)]
        with pikepdf.open(io.BytesIO(b"".join(store.open(key)))) as pdf:
            if not 1 <= page <= len(pdf.pages):
                return None
            image = next(page_images(pdf.pages[page - 1])).as_pil_image()
            image = image.convert("L" if image.mode in ("1", "L") else "RGB")
        with self.lock:
            self.items[(key, page)] = image
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return image


_pages = _Pages()


def crop(session: Session, store: ObjectStore, user: User, dossier: Dossier, ref: str, client: str) -> bytes:
    """The part of the page image a reading was read from (PNG), on the access log like a viewed page."""
    _may_check(user, dossier)
    page_no = int(ref.split("-")[0]) if ref.split("-")[0].isdigit() else 0
    copy = latest_use_copy(session, dossier)
    image = _pages.get(store, copy.storage_key, page_no) if copy else None
    if image is None:
        raise ArchiveError(
            "crop.page_missing",
            f"第 {page_no} 页已不在 {dossier.archival_code} 的数字副本中（可能已重新数字化），无法截取；请刷新校对页",
            "ref",
            404,
        )
    reading = find(session, store, dossier, ref)
    out = io.BytesIO()
    region_of(image, reading.box, reading.page_size).save(out, "PNG")
    # The request's own write (the session's last-seen time) ends first: the entry is written on a connection of its
    # own, and SQLite has one writer — it would wait for this request, which waits for it.
    session.commit()
    record_access(
        session, user, AccessAction.proofread_crop, client, dossier_id=dossier.id, pages=[page_no],
        detail=f"校对 {dossier.archival_code} 第{page_no}页 {reading.label}",
    )  # fmt: skip
    return out.getvalue()
