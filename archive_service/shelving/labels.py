"""Shelf labels as a PDF: one per volume (档号 barcode) and one per layer (架位 barcode).

ReportLab draws Code 128 as vectors, so a cheap label printer still scans them. Chinese text is set
in WenQuanYi Micro Hei (Debian fonts-wqy-microhei, installed by scripts/bootstrap.sh), embedded as a
subset: ReportLab embeds only TrueType outlines, which the Noto CJK (CFF) fonts are not.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.dossiers.models import Dossier
from archive_service.errors import ArchiveError, NotFound
from archive_service.shelving.layout import get_slot
from archive_service.shelving.models import ShelfSlot, ShelvingUnit
from archive_service.shelving.occupancy import slot_contents

FONT = "WenQuanYiMicroHei"
FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
pdfmetrics.registerFont(TTFont(FONT, FONT_FILE, subfontIndex=0))

# A4 sheet of 3 × 8 labels, 70 × 37 mm: the common self-adhesive label sheet.
COLUMNS, ROWS = 3, 8
LABEL_W, LABEL_H = 70 * mm, 37 * mm
MARGIN_X = (A4[0] - COLUMNS * LABEL_W) / 2
MARGIN_Y = (A4[1] - ROWS * LABEL_H) / 2


@dataclass(frozen=True)
class Label:
    barcode: str  # what a scanner reads: the archival code or the layer code
    title: str  # big line: 档号 or the layer
    lines: tuple[str, ...]  # small lines under it


PER_SHEET = COLUMNS * ROWS


def labels_pdf(labels: list[Label], title: str, start_at: int = 1) -> bytes:
    """Labels in reading order on A4 label sheets; the first sheet from label `start_at` (1–24), so that a
    sheet with some labels already used goes through the printer again."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("退休人员人事档案托管系统")
    skip = start_at - 1
    for n, label in enumerate(labels, start=skip):
        if n > skip and n % PER_SHEET == 0:
            canvas.showPage()
        row, column = divmod(n % PER_SHEET, COLUMNS)
        x = MARGIN_X + column * LABEL_W
        y = A4[1] - MARGIN_Y - (row + 1) * LABEL_H
        _draw(canvas, label, x, y)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def _draw(canvas: Canvas, label: Label, x: float, y: float) -> None:
    canvas.setLineWidth(0.3)
    canvas.setStrokeGray(0.6)
    canvas.rect(x + 1 * mm, y + 1 * mm, LABEL_W - 2 * mm, LABEL_H - 2 * mm)
    barcode = Code128(label.barcode, barHeight=9 * mm, barWidth=0.3 * mm, humanReadable=False, quiet=False)
    barcode.drawOn(canvas, x + (LABEL_W - barcode.width) / 2, y + LABEL_H - 13 * mm)
    canvas.setFont("Courier", 7)
    canvas.drawCentredString(x + LABEL_W / 2, y + LABEL_H - 16 * mm, label.barcode)
    canvas.setFont(FONT, 10)
    canvas.drawString(x + 4 * mm, y + LABEL_H - 21.5 * mm, label.title[:24])
    canvas.setFont(FONT, 7.5)
    for i, line in enumerate(label.lines[:3]):
        canvas.drawString(x + 4 * mm, y + LABEL_H - (26 + i * 3.6) * mm, line[:34])


def unit_labels(session: Session, user: User, unit_id: int, start_at: int = 1) -> bytes:
    """A whole shelf (one compact-shelving unit): every layer's label, then every volume standing on it."""
    unit = session.get(ShelvingUnit, unit_id)
    if unit is None or unit.room.organisation_id != user.organisation_id:
        raise NotFound("该密集架", "unit_id")
    slot_ids = [s.id for s in unit.slots]
    held = session.scalars(
        select(Dossier.id).where(Dossier.shelf_slot_id.in_(slot_ids)).order_by(Dossier.archival_code)
    ).all()
    return labels(session, user, list(held), slot_ids, start_at)


def labels(
    session: Session, user: User, dossier_ids: Sequence[int] = (), slot_ids: Sequence[int] = (), start_at: int = 1
) -> bytes:
    """A label per volume of the given dossiers and per given layer (a box label reprint is the box's labels
    only), on sheets whose first is used from label `start_at`."""
    require(user, Action.view_dossiers)
    if not dossier_ids and not slot_ids:
        raise ArchiveError("labels.empty", "请选择要打印标签的档案或架位", "dossier_ids", 422)
    if not 1 <= start_at <= PER_SHEET:
        raise ArchiveError(
            "start_at.range", f"起始标签应为 1–{PER_SHEET}（每张标签纸 {ROWS} 行 × {COLUMNS} 列）", "start_at", 422
        )
    if len(dossier_ids) + len(slot_ids) > 5000:
        raise ArchiveError("labels.too_many", "一次最多打印 5000 张标签", "dossier_ids", 422)
    files = session.scalars(
        select(Dossier)
        .where(Dossier.id.in_(dossier_ids), Dossier.custodian_id == user.organisation_id)
        .order_by(Dossier.archival_code)
    ).all()
    missing = set(dossier_ids) - {d.id for d in files}
    if missing:
        raise NotFound(f"档案 {sorted(missing)[:5]}", "dossier_ids")
    layers = [get_slot(session, user, i, "slot_ids") for i in dict.fromkeys(slot_ids)]
    shelved_on = [d.shelf_slot_id for d in files if d.shelf_slot_id]
    slot_names = {s.id: s.label for s in session.scalars(select(ShelfSlot).where(ShelfSlot.id.in_(shelved_on)))}
    out = []
    for layer in sorted(layers, key=lambda s: (s.unit.room_id, s.unit.code, s.shelf_order)):
        codes = slot_contents(session, user, layer.id)
        held = f"{codes[0].archival_code} – {codes[-1].archival_code}" if codes else "空"
        out.append(
            Label(
                layer.code,
                layer.position,
                (layer.label, f"容量 {layer.capacity_volumes} 卷 · 已放 {layer.used_volumes} 卷", held),
            )
        )
    for d in files:
        for n in range(1, d.volumes + 1):
            where = slot_names.get(d.shelf_slot_id or 0, "未上架")
            out.append(
                Label(
                    d.archival_code,
                    f"{d.archival_code} {d.retiree.name}",
                    (d.retiree.enterprise.name, where, f"第 {n} 卷 / 共 {d.volumes} 卷"),
                )
            )
    return labels_pdf(out, "架位与案卷标签", start_at)
