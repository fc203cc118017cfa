"""The handover receipt (交接书) as a PDF, and checking one later.

The receipt prints the parties, the counts, the register with each row's result and the SHA-256 of
the canonical manifest; the manifest itself rides inside the PDF as an attached file
(`manifest.json`), so anyone holding the paper's PDF can recompute the hash without our database:
`archive transfers verify-receipt FILE.pdf` or the 核验交接书 card on /transfers.
"""

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import orjson
import pikepdf
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.db import as_utc, bureau_zone_label, show_time
from archive_service.dossiers.models import Dossier
from archive_service.shelving.labels import FONT  # registers the embedded CJK font
from archive_service.transfers import acceptance
from archive_service.transfers.models import TransferBatch, TransferItem
from archive_service.values import mask_citizen_id

MANIFEST_NAME = "manifest.json"
RESULT_LABELS = {"accepted": "接收", "discrepancy": "接收（有差异）", "rejected": "退回", "pending": "待核对"}


def receipt_pdf(manifest: dict[str, Any], canonical: bytes, sha256: str, *, onward_slip: bool = False) -> bytes:
    """The 交接书 of a closed batch; with `onward_slip`, the 转递单 that goes with files sent on paper to a
    bureau outside this installation (002 第二十二条), whose signed return slip closes the batch."""
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=14)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, alignment=1)
    items = manifest["items"]
    taken = [i for i in items if i["result"] in ("accepted", "discrepancy")]
    onward = manifest["kind"] == "onward"  # 转递 between bureaus (002 第二十二条), not an enterprise's 移交
    flow: list[Any] = [
        Paragraph(
            "退休人员人事档案转递单" if onward_slip else f"退休人员人事档案{'转递' if onward else '移交'}交接书", title
        ),
        Spacer(1, 4 * mm),
        Paragraph(f"批次编号：{_text(manifest['number'])}", body),
        Paragraph(_party("转出馆" if onward else "移交单位", manifest["from"]), body),
        Paragraph(_party("接收馆" if onward else "接收单位", manifest["to"]), body),
    ]
    if onward_slip:
        flow += [
            Paragraph(f"转递原因：{_text(manifest.get('note', ''))}", body),
            Paragraph(
                f"共 {len(items)} 份档案。请接收馆逐卷核对，在下方接收方栏签字盖章后将本单（回执）寄回转出馆；"
                "转出馆据回执办结本批次。",
                body,
            ),
            Spacer(1, 3 * mm),
        ]
    else:
        flow += [
            *([Paragraph(f"转递原因：{_text(manifest.get('note', ''))}", body)] if onward else []),
            Paragraph(
                f"{'转出方' if onward else '移交方'}确认：{_text(manifest['sender_confirmed']['by'])}，"
                f"{_shown(manifest['sender_confirmed']['at'])}；"
                f"接收方确认：{_text(manifest['receiver_confirmed']['by'])}，"
                f"{_shown(manifest['receiver_confirmed']['at'])}（{bureau_zone_label()}）",
                body,
            ),
            Paragraph(_counts(items, taken), body),
            *([] if onward else [Paragraph(f"数字化成果验收：{_text(_acceptance(manifest.get('acceptance')))}", body)]),
            *(
                [Paragraph(f"未数字化接收理由：{_text(manifest['paper_reason'])}", body)]
                if manifest.get("paper_reason")
                else []
            ),
            Spacer(1, 3 * mm),
        ]
    rows = [["序号", "姓名", "公民身份号码", "档号", "名册 卷/页/份", "实收 卷/页/份", "结果", "说明"]]
    for i in items:
        rows.append(
            [
                str(i["row"]),
                i["name"],
                mask_citizen_id(i["citizen_id"]),
                i["archival_code"] or "",
                "/".join(str(x) for x in i["declared"]),
                "—" if i["received"][0] is None else "/".join(str(x) for x in i["received"]),
                RESULT_LABELS[i["result"]],
                Paragraph(_text(i["reason"]), ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9)),
            ]
        )
    table = Table(
        rows, repeatRows=1, colWidths=[10 * mm, 16 * mm, 30 * mm, 28 * mm, 22 * mm, 22 * mm, 20 * mm, 34 * mm]
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 7.5),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    flow += [
        table,
        Spacer(1, 5 * mm),
        Paragraph("清单摘要（SHA-256，按规范化清单计算，清单作为附件 manifest.json 附于本文件）：", body),
        Paragraph(f"<font face='Courier'>{sha256}</font>", body),
        Spacer(1, 8 * mm),
        KeepTogether(_signatures(manifest, body)),
    ]
    out = io.BytesIO()
    named = "转递单" if onward_slip else ("转递交接书" if onward else "移交交接书")
    title, author = f"{named} {manifest['number']}", "退休人员人事档案托管系统"
    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=14 * mm, bottomMargin=14 * mm,
        title=title, author=author,
    )  # fmt: skip
    doc.build(flow)
    with pikepdf.open(io.BytesIO(out.getvalue())) as pdf:
        pdf.attachments[MANIFEST_NAME] = pikepdf.AttachedFileSpec(pdf, canonical, mime_type="application/json")
        # The document information is rewritten from this metadata: the title a viewer shows goes here too.
        with pdf.open_metadata() as meta:
            meta["dc:title"] = title
            meta["dc:creator"] = [author]
            meta["dc:description"] = f"manifest-sha256:{sha256}"
        result = io.BytesIO()
        pdf.save(result)
    return result.getvalue()


def _text(value: Any) -> str:
    """What people typed (names, reasons, notes), as text: ReportLab paragraphs read markup, so an unescaped
    `<img src=…>` in a reason would embed a file from the server's disk and a stray `<` break the receipt."""
    return escape(str(value or ""), {'"': "&quot;", "'": "&#39;"})


def _party(role: str, party: dict[str, Any]) -> str:
    text = f"{role}：{_text(party['name'])}（统一社会信用代码 {_text(party['credit_code'])}）"
    if party.get("managing_unit"):
        text += f"，由现管理单位 {_text(party['managing_unit'])} 代为移交（{_text(party.get('managing_reason', ''))}）"
    if party.get("approval_reference"):
        text += f"；人社局核准：{_text(party['approval_reference'])}"
    return text


def _counts(items: list[dict[str, Any]], taken: list[dict[str, Any]]) -> str:
    differing = sum(i["result"] == "discrepancy" for i in items)
    rejected = sum(i["result"] == "rejected" for i in items)
    volumes = sum(i["received"][0] or 0 for i in taken)
    pages = sum(i["received"][1] or 0 for i in taken)
    return (
        f"名册 {len(items)} 份；接收 {len(taken)} 份（其中有差异 {differing} 份），退回 {rejected} 份；"
        f"接收 {volumes} 卷、{pages} 页。"
    )


def _acceptance(record: dict[str, Any] | None) -> str:
    return acceptance.summary(record)


@dataclass(frozen=True)
class ReceiptCheck:
    number: str | None
    printed: str | None  # the hash the receipt states
    computed: str | None  # the SHA-256 of its attached manifest
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def read_receipt(data: bytes) -> tuple[dict[str, Any] | None, bytes | None, ReceiptCheck]:
    """The attached manifest and whether it still matches the hash the receipt states."""
    import orjson

    problems: list[str] = []
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PdfError:  # its words are qpdf's, in English: the person reads what it means
        return None, None, ReceiptCheck(None, None, None, ["不是有效的 PDF 文件"])
    with pdf:
        printed = None
        with pdf.open_metadata() as meta:
            description = str(meta.get("dc:description") or "")
        if description.startswith("manifest-sha256:"):
            printed = description.split(":", 1)[1].strip()
        else:
            problems.append("交接书中没有清单摘要")
        spec = pdf.attachments.get(MANIFEST_NAME)
        if spec is None:
            return None, None, ReceiptCheck(None, printed, None, [*problems, "交接书中没有附件 manifest.json"])
        canonical = spec.get_file().read_bytes()
    computed = hashlib.sha256(canonical).hexdigest()
    if printed and computed != printed:
        problems.append(f"附件清单的摘要 {computed} 与交接书所载 {printed} 不一致：清单或交接书被改动")
    try:
        manifest = orjson.loads(canonical)
    except orjson.JSONDecodeError:
        return None, canonical, ReceiptCheck(None, printed, computed, [*problems, "附件清单不是有效的 JSON"])
    return manifest, canonical, ReceiptCheck(manifest.get("number"), printed, computed, problems)


def _shown(iso: str | None) -> str:
    """The manifest keeps UTC (its hash must not depend on a time zone); the receipt shows Beijing time."""
    return show_time(datetime.fromisoformat(iso.replace("Z", "+00:00"))) if iso else "—"


def _signatures(manifest: dict[str, Any], body: ParagraphStyle) -> list[Any]:
    """A box per party with room for its seal, the signature of the person who handled it, and the date."""
    cell = [
        [Paragraph(f"{side}：{_text(manifest[key]['name'])}", body), Spacer(1, 26 * mm),
         Paragraph("（单位盖章）", body), Spacer(1, 4 * mm),
         Paragraph("经办人签字：", body), Spacer(1, 8 * mm), Paragraph("日期：　　　　年　　月　　日", body)]
        for side, key in (("移交方" if manifest["kind"] == "intake" else "转出方", "from"), ("接收方", "to"))
    ]  # fmt: skip
    table = Table([cell], colWidths=[91 * mm, 91 * mm])
    table.setStyle(
        TableStyle([("BOX", (0, 0), (0, 0), 0.6, colors.black), ("BOX", (1, 0), (1, 0), 0.6, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 4 * mm),
                    ("TOPPADDING", (0, 0), (-1, -1), 3 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 4 * mm)])
    )  # fmt: skip
    return [table]


# ---- the manifest: what was handed over, canonical, and its hash ------------------------------


def register_rows(session: Session, batch: TransferBatch) -> tuple[list[TransferItem], dict[int, str]]:
    """The batch's register rows in order, and the 档号 of each file received (dossier id → 档号)."""
    items = list(
        session.scalars(select(TransferItem).where(TransferItem.batch_id == batch.id).order_by(TransferItem.row_no))
    )
    received = [i.dossier_id for i in items if i.dossier_id]
    codes = dict(session.execute(select(Dossier.id, Dossier.archival_code).where(Dossier.id.in_(received))).all())
    return items, codes


def manifest(session: Session, batch: TransferBatch) -> dict[str, Any]:
    """What was handed over, in a canonical form both sides can recompute: parties, confirmations,
    and every register row with its result."""
    receiver = session.get(User, batch.receiver_confirmed_by_id) if batch.receiver_confirmed_by_id else None
    # A bureau outside this installation confirms by its signed return slip (transfers/onward.py).
    receiver_name = receiver.display_name if receiver else batch.return_slip_signer
    items, codes = register_rows(session, batch)
    # Present only when given, so a receipt made before these were recorded recomputes to the same hash.
    handover = {
        k: v
        for k, v in (
            ("managing_unit", batch.managing_unit),
            ("managing_reason", batch.managing_reason),
            ("approval_reference", batch.approval_reference),
        )
        if v
    }
    paper = {"paper_reason": batch.paper_reason} if batch.paper_reason else {}
    return {
        "manifest": "archive-custody/transfer-receipt/1",
        "number": batch.number,
        "kind": batch.kind.value,
        "from": {"name": batch.from_org.name, "credit_code": batch.from_org.credit_code, **handover},
        "to": {"name": batch.to_org.name, "credit_code": batch.to_org.credit_code},
        "sender_confirmed": {"by": batch.sender_confirmed_by, "at": _iso(batch.sender_confirmed_at)},
        "receiver_confirmed": {
            "by": receiver_name,
            "at": _iso(batch.receiver_confirmed_at),
        },
        "acceptance": batch.acceptance,
        **paper,
        **(
            {"return_slip": {"signed_on": batch.return_slip_signed_on.isoformat(), "sha256": batch.return_slip_sha256}}
            if batch.return_slip_signed_on
            else {}
        ),
        "items": [
            {
                "row": i.row_no,
                "citizen_id": i.citizen_id,
                "name": i.retiree_name,
                "archival_code": codes.get(i.dossier_id) if i.dossier_id else i.archival_code,
                "declared": [i.declared_volumes, i.declared_pages, i.declared_materials],
                "received": [i.received_volumes, i.received_pages, i.received_materials],
                "result": i.result.value,
                "reason": i.reason,
                "missing_materials": i.missing_materials,
                "classified": i.classified,
            }
            for i in items
        ],
    }


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return as_utc(at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def manifest_sha256(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()
