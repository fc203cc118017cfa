"""Acceptance (验收) of a batch's digitised copies, DA/T 31-2017 12.3 (STANDARDS Part A):

1. the checks a computer can make run on every digitised dossier of the batch and all must pass;
2. then at least 5 % of those dossiers (at least one) are drawn at random for a person to compare
   page by page with the paper;
3. the batch passes only if catalogue↔image correspondence is right in every sampled dossier and
   every other sampled item passes at ≥ 95 %.

The result lives in `TransferBatch.acceptance` (one JSON document, earlier rounds kept in its
`history`), goes into the manifest and is printed on the receipt. A batch with digitised copies
cannot be confirmed until its latest round passed and judged every file that has a copy.

A batch may mix digitised files with files taken in on paper only: acceptance judges the copies that
were handed over; the paper-only files are listed in the round and accepted on the reason the bureau
records when it confirms (transfers.service.PAPER_ONLY), then wait in the digitisation backlog.
"""

import hashlib
import io
import logging
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pikepdf
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.digitisation.service import latest_objects
from archive_service.dossiers.missing import CERTIFICATE
from archive_service.dossiers.models import DigitalObject, Dossier, Material
from archive_service.errors import ArchiveError
from archive_service.transfers.models import ItemResult, TransferBatch, TransferItem
from archive_service.values import page_ranges
from storage import ObjectStore, StorageError

SAMPLE_RATE = 0.05  # 12.3: at least 5 % of the dossiers (件/卷)
OTHER_PASS_RATE = 0.95  # 12.3: every sampled item other than catalogue↔image
MASTER_TYPES = {"image/tiff", "image/jpeg", "image/png", "application/pdf"}
CATALOGUE_IMAGE = "catalogue_image"
# What the inspector compares for each sampled dossier. Catalogue↔image must be 100 %.
CRITERIA: dict[str, str] = {
    CATALOGUE_IMAGE: "目录与图像对应（条目、起止页、顺序一致）",
    "completeness": "图像完整：无缺页、漏扫、重页",
    "legibility": "图像清晰可辨，色彩模式恰当（红头、印章为彩色）",
    "orientation": "方向正确，无明显歪斜，裁边未伤及内容",
    "description": "档号、姓名等著录与纸质档案一致",
}
MACHINE_CHECKS: dict[str, str] = {
    "present": "数字副本齐全（原始图像、PDF/A 利用件、过程元数据）",
    "fixity": "存储的每个文件 SHA-256 与登记一致",
    "format": "格式合规（利用件 PDF/A-2b，原始图像为 TIFF/JPEG/PNG/PDF）",
    "opens": "文件可正常打开，未加密",
    "counts": "页数与目录、登记一致（数据挂接完整）",
    "metadata": "元数据含档号，且不含公民身份号码",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    archival_code: str
    check: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"archival_code": self.archival_code, "check": self.check, "message": self.message}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _batch_dossiers(session: Session, batch: TransferBatch) -> list[Dossier]:
    return list(
        session.scalars(
            select(Dossier)
            .join(TransferItem, TransferItem.dossier_id == Dossier.id)
            .where(
                TransferItem.batch_id == batch.id,
                TransferItem.result.in_([ItemResult.accepted, ItemResult.discrepancy]),
            )
            .order_by(TransferItem.row_no)
        )
    )


def digitised_dossiers(session: Session, batch: TransferBatch) -> list[Dossier]:
    """The batch's received files that have a digitised copy (any stored object but a missing-material
    certificate, which comes with a paper file too): those acceptance judges."""
    dossiers = _batch_dossiers(session, batch)
    with_copies = set(
        session.scalars(
            select(DigitalObject.dossier_id)
            .where(DigitalObject.dossier_id.in_([d.id for d in dossiers]), DigitalObject.role != CERTIFICATE)
            .distinct()
        )
    )
    return [d for d in dossiers if d.id in with_copies]


def has_digital_copies(session: Session, batch: TransferBatch) -> bool:
    """Whether the batch came with digitised copies, which then must pass acceptance."""
    return bool(digitised_dossiers(session, batch))


def not_yet_judged(session: Session, batch: TransferBatch) -> list[str]:
    """档号 of the files with a digitised copy that the latest passed round did not judge (all of them when
    no round passed): the batch is confirmed only when this is empty."""
    record = batch.acceptance or {}
    files = digitised_dossiers(session, batch)
    if record.get("result") != "passed":
        return [d.archival_code for d in files]
    # Rounds from before paper-only files were told apart judged every received file.
    judged = set(record.get("judged") or [d.archival_code for d in _batch_dossiers(session, batch)])
    return [d.archival_code for d in files if d.archival_code not in judged]


def require_judged(session: Session, batch: TransferBatch) -> None:
    """Refuse a confirmation while a file with a digitised copy has not passed acceptance, saying who does the
    next step; files on paper only are no bar (the receiver gives the reason they came so)."""
    unjudged = not_yet_judged(session, batch)
    if not unjudged:
        return
    files = "、".join(unjudged[:5]) + (f" 等 {len(unjudged)} 份" if len(unjudged) > 5 else "")
    if (batch.acceptance or {}).get("result") == "passed":
        message = f"验收后又有档案数字化（{files}），须由档案管理员重新验收合格后才能确认（DA/T 31 12.3）"
    else:
        message = (
            f"本批次有数字化成果（{files}），须由档案管理员在本页“数字化成果验收”中验收合格后才能确认"
            "（DA/T 31 12.3）；未数字化的档案不在验收范围，由接收方确认时填写未数字化接收理由"
        )
    raise ArchiveError("acceptance.not_passed", message, "batch_id", 409)


def _read(store: ObjectStore, obj: DigitalObject) -> bytes:
    return b"".join(store.open(obj.storage_key))


def check_dossier(session: Session, store: ObjectStore, dossier: Dossier) -> list[Failure]:
    """The machine checks of one dossier's digitised copy; an empty list means it passed all."""
    code = dossier.archival_code
    fail: list[Failure] = []
    objects = {o.name: o for o in latest_objects(session, dossier)}
    by_role: dict[str, list[DigitalObject]] = {}
    for obj in objects.values():
        by_role.setdefault(obj.role, []).append(obj)
    missing = [
        label
        for role, label in (("master_image", "原始图像"), ("use_copy", "利用件"), ("sidecar", "过程元数据"))
        if role not in by_role
    ]
    if missing:
        return [Failure(code, "present", "缺少" + "、".join(missing))]
    use_copy = by_role["use_copy"][0]
    if use_copy.media_type != "application/pdf" or use_copy.pdfa_level != "2b":
        fail.append(Failure(code, "format", f"{use_copy.name} 不是 PDF/A-2b"))
    for master in by_role["master_image"]:
        if master.media_type not in MASTER_TYPES:
            fail.append(Failure(code, "format", f"{master.name} 的格式 {master.media_type} 不在允许之列"))
    # Each file is read once and checked while in hand, so a dossier's masters are never all in memory.
    for obj in objects.values():
        try:
            data = _read(store, obj)
        except StorageError:
            log.warning("验收：%s（%s）无法读取", obj.name, obj.storage_key, exc_info=True)
            fail.append(Failure(code, "fixity", f"{obj.name} 无法从存储读取（详情见服务器日志）"))
            continue
        if hashlib.sha256(data).hexdigest() != obj.sha256:
            fail.append(Failure(code, "fixity", f"{obj.name} 的 SHA-256 与登记不一致"))
        elif obj is use_copy:
            fail.extend(_check_pdf(session, dossier, use_copy, data))
        elif obj.role == "master_image" and obj.media_type in MASTER_TYPES - {"application/pdf"}:
            try:
                with Image.open(io.BytesIO(data)) as image:
                    image.verify()
            except Exception:  # noqa: BLE001 — any decoder error means the file does not open
                fail.append(Failure(code, "opens", f"{obj.name} 无法打开（文件损坏或格式不符）"))
    return fail


def _check_pdf(session: Session, dossier: Dossier, use_copy: DigitalObject, data: bytes) -> list[Failure]:
    code, fail = dossier.archival_code, []
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        return [Failure(code, "opens", f"{use_copy.name} 已加密")]
    except pikepdf.PdfError:
        return [Failure(code, "opens", f"{use_copy.name} 无法打开（PDF 损坏）")]
    with pdf:
        if pdf.is_encrypted:
            fail.append(Failure(code, "opens", f"{use_copy.name} 已加密"))
        meta = pdf.open_metadata()
        if meta.pdfa_status != "2B":
            fail.append(Failure(code, "format", f"{use_copy.name} 未声明 PDF/A-2b（{meta.pdfa_status or '无'}）"))
        if meta.get("dc:identifier") != code:
            fail.append(Failure(code, "metadata", f"元数据中的档号为“{meta.get('dc:identifier') or '空'}”"))
        xmp = pdf.Root.Metadata.read_bytes().decode("utf-8", "replace")
        if dossier.retiree.citizen_id and dossier.retiree.citizen_id in xmp:
            fail.append(Failure(code, "metadata", "元数据中含有公民身份号码"))
        pages = len(pdf.pages)
    if pages != use_copy.pages:
        fail.append(Failure(code, "counts", f"利用件有 {pages} 页，登记为 {use_copy.pages} 页"))
    materials = session.scalars(select(Material).where(Material.dossier_id == dossier.id)).all()
    ordered = sorted(materials, key=lambda m: m.sort_key)
    expected_first, before = 1, None
    for m in ordered:
        if m.first_page is None or m.last_page is None:
            fail.append(Failure(code, "counts", f"目录第 {m.sequence} 条没有挂接页码"))
            break
        if m.first_page != expected_first or m.last_page < m.first_page:
            fail.append(Failure(code, "counts", _out_of_line(m, before, ordered, expected_first)))
            break
        expected_first, before = m.last_page + 1, m
    else:
        if ordered and expected_first - 1 != pages:
            fail.append(Failure(code, "counts", f"目录挂接到第 {expected_first - 1} 页，利用件共 {pages} 页"))
    if not ordered and pages < dossier.pages:
        fail.append(Failure(code, "counts", f"利用件 {pages} 页，少于接收登记的 {dossier.pages} 页"))
    return fail


def _out_of_line(m: Material, before: Material | None, ordered: list[Material], expected_first: int) -> str:
    """Why a material's pages do not follow its predecessor's in catalogue order (DA/T 31 11: the order of
    the pages agrees with the catalogue's), said as the archivist must put it right."""
    first, last = m.first_page or 0, m.last_page or 0
    where = f"目录第 {m.sequence} 条（第 {_span(first, last)} 页）"
    if last < first:
        return f"目录第 {m.sequence} 条终止页 {last} 在起始页 {first} 之前"
    owner = {p: o for o in ordered for p in range(o.first_page or 0, (o.last_page or -1) + 1)}
    if first > expected_first:
        gap = range(expected_first, first)
        elsewhere = next((owner[p] for p in gap if p in owner), None)
        if elsewhere is None:
            after = f"目录第 {before.sequence} 条之后、" if before else ""
            return f"第 {page_ranges(gap)} 页不属于任何目录条目（{after}{where}之前）"
        return (
            f"页面顺序与目录顺序不符：第 {elsewhere.first_page} 页起是目录第 {elsewhere.sequence} 条，"
            f"按目录它应在{where}之后；请按目录顺序调整页面，或更正起止页"
        )
    assert before is not None  # the first entry starts at page 1 or after it
    return (
        f"页面顺序与目录顺序不符：{where}按目录排在第 {before.sequence} 条"
        f"（第 {_span(before.first_page or 0, before.last_page or 0)} 页）之后，页面却在其前；"
        "请按目录顺序调整页面，或更正起止页"
    )


def _span(first: int, last: int) -> str:
    return page_ranges(range(first, last + 1))


def sample_size(dossiers: int) -> int:
    """At least 5 % of the batch's dossiers, and never none."""
    return max(1, math.ceil(dossiers * SAMPLE_RATE - 1e-9))


def start(session: Session, store: ObjectStore, user: User, batch: TransferBatch) -> dict[str, Any]:
    """Run the machine checks on every digitised dossier; if all pass, draw the sample for inspection.
    The files taken in on paper only are listed, not checked. Starting again (after a failed round, a
    file digitised since, or to redo one) keeps the earlier rounds in the history."""
    received = _batch_dossiers(session, batch)
    if not received:
        raise ArchiveError("acceptance.nothing", "本批次没有接收的档案，无需验收", "batch_id", 409)
    dossiers = digitised_dossiers(session, batch)
    if not dossiers:
        raise ArchiveError(
            "acceptance.nothing",
            "本批次接收的档案都没有数字化成果，无需验收；确认时请填写未数字化接收理由",
            "batch_id",
            409,
        )
    judged = {d.id for d in dossiers}
    failures = [f for d in dossiers for f in check_dossier(session, store, d)]
    failed_dossiers = sorted({f.archival_code for f in failures})
    previous = batch.acceptance or {}
    history = [*previous.get("history", []), {k: v for k, v in previous.items() if k != "history"}] if previous else []
    record: dict[str, Any] = {
        "round": len(history) + 1,
        "started_at": _now(),
        "started_by": user.display_name,
        "machine": {
            "dossiers": len(dossiers),
            "passed": len(dossiers) - len(failed_dossiers),
            "checks": list(MACHINE_CHECKS),
            "failures": [f.as_dict() for f in failures],
        },
        "judged": [d.archival_code for d in dossiers],
        "paper_only": [d.archival_code for d in received if d.id not in judged],
        "history": history,
    }
    if failures:
        record.update(stage="done", result="failed", reason=f"机检不合格：{len(failed_dossiers)} 份档案未通过")
    else:
        size = sample_size(len(dossiers))
        drawn = sorted(random.SystemRandom().sample(dossiers, size), key=lambda d: d.archival_code)
        record.update(
            stage="inspecting",
            result=None,
            sample={"rate": SAMPLE_RATE, "size": size, "dossiers": [[d.id, d.archival_code] for d in drawn]},
            inspections={},
        )
    batch.acceptance = record
    session.flush()
    return record


def inspect(
    session: Session, user: User, batch: TransferBatch, dossier_id: int, marks: dict[str, bool], note: str = ""
) -> dict[str, Any]:
    """The inspector's page-by-page comparison of one sampled dossier with its paper file."""
    record = dict(batch.acceptance or {})
    if record.get("stage") != "inspecting":
        raise ArchiveError("acceptance.stage", "当前没有待人工抽检的验收", "batch_id", 409)
    sampled = {d_id: code for d_id, code in record["sample"]["dossiers"]}
    if dossier_id not in sampled:
        raise ArchiveError("dossier_id.not_sampled", "该档案不在本轮抽检样本中", "dossier_id", 422)
    unknown = set(marks) - set(CRITERIA)
    if unknown:
        raise ArchiveError("marks.unknown", f"未知的检查项：{'、'.join(sorted(unknown))}", "marks", 422)
    absent = [CRITERIA[c] for c in CRITERIA if c not in marks]
    if absent:
        raise ArchiveError("marks.incomplete", f"请逐项判定：{'；'.join(absent)}", "marks", 422)
    if not all(marks.values()) and not note.strip():
        raise ArchiveError("note.required", "有不合格项时须写明问题（页码、情况）", "note", 422)
    record["inspections"] = {
        **record.get("inspections", {}),
        str(dossier_id): {
            "archival_code": sampled[dossier_id],
            "marks": {c: bool(marks[c]) for c in CRITERIA},
            "note": note.strip(),
            "by": user.display_name,
            "at": _now(),
        },
    }
    batch.acceptance = record  # a new dict: the JSON column sees the change
    session.flush()
    return record


def conclude(session: Session, user: User, batch: TransferBatch) -> dict[str, Any]:
    """Compute the sample's pass rates and the batch's conclusion once every sampled dossier is inspected."""
    record = dict(batch.acceptance or {})
    if record.get("stage") != "inspecting":
        raise ArchiveError("acceptance.stage", "当前没有待人工抽检的验收", "batch_id", 409)
    inspections = record.get("inspections", {})
    left = [code for d_id, code in record["sample"]["dossiers"] if str(d_id) not in inspections]
    if left:
        raise ArchiveError(
            "acceptance.uninspected", f"还有 {len(left)} 份样本未检查：{'、'.join(left)}", "batch_id", 409
        )
    marks = [i["marks"] for i in inspections.values()]
    catalogue_ok = sum(m[CATALOGUE_IMAGE] for m in marks)
    others = [ok for m in marks for c, ok in m.items() if c != CATALOGUE_IMAGE]
    other_rate = sum(others) / len(others)
    passed = catalogue_ok == len(marks) and other_rate >= OTHER_PASS_RATE
    reasons = []
    if catalogue_ok != len(marks):
        reasons.append(f"目录与图像对应合格率 {catalogue_ok / len(marks):.0%}，须为 100%")
    if other_rate < OTHER_PASS_RATE:
        reasons.append(f"其他检查项合格率 {other_rate:.1%}，须不低于 {OTHER_PASS_RATE:.0%}")
    record.update(
        stage="done",
        result="passed" if passed else "failed",
        rates={"catalogue_image": catalogue_ok / len(marks), "other": other_rate},
        reason="；".join(reasons),
        concluded_by=user.display_name,
        concluded_at=_now(),
    )
    batch.acceptance = record
    session.flush()
    return record


def summary(acceptance: dict[str, Any] | None, with_copies: int = 0) -> str:
    """One line for the receipt and the batch page; `with_copies`: how many files have a copy now."""
    if not acceptance and with_copies:
        return f"尚未验收：本批有 {with_copies} 份档案有数字化成果，须由档案管理员验收合格后双方才能确认"
    if not acceptance:
        return "未进行（本批未移交数字化成果）"
    machine = acceptance["machine"]
    text = f"第 {acceptance['round']} 轮：机检 {machine['passed']}/{machine['dossiers']} 份通过"
    if acceptance.get("sample"):
        sample = acceptance["sample"]
        text += f"；抽检 {sample['size']} 份（{sample['size'] / machine['dossiers']:.1%}）"
    if acceptance.get("rates"):
        rates = acceptance["rates"]
        text += f"，目录与图像对应 {rates['catalogue_image']:.0%}，其他项 {rates['other']:.1%}"
    verdict = {"passed": "合格", "failed": "不合格", None: "抽检中"}[acceptance.get("result")]
    text += f"。结论：{verdict}"
    if acceptance.get("reason"):
        text += f"（{acceptance['reason']}）"
    if acceptance.get("paper_only"):
        text += f"。另有 {len(acceptance['paper_only'])} 份未移交数字化成果，不在验收范围，按未数字化接收理由接收"
    return text
