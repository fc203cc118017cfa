"""Pages flagged 疑似他人材料 (the misfiled-page check, digitise/facts.py) and what the archivist decides.

A flag is a page of the latest use copy with misfiled findings; it stays open until an archivist decides:
checked — the page belongs here — or removed — it is another person's and is taken out of this file. A removal
makes the next use copy from the stored masters without that page (`rebuild_use_copy`, no new scan) and takes
the page out of the catalogue entry it was in; an entry it would empty is refused unless the archivist says the
entry goes too (the whole material was another person's — what a bureau strikes from the 卷内目录). Decisions
are anchored to the page's scan, so they hold in every later copy; each is on the access log. The approver sees
the open flags of the pages a request would serve before deciding (`flags_in_scope`)."""

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.access.models import RetrievalRequest
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import show_time
from archive_service.digitisation.misfiled_models import PageCheck, PageOutcome
from archive_service.digitisation.service import latest_sidecar, latest_use_copy, rebuild_use_copy
from archive_service.dossiers.catalogue import take_out_page
from archive_service.dossiers.class_schemes import top_class
from archive_service.dossiers.models import Dossier, Material
from archive_service.dossiers.service import catalogue
from archive_service.errors import ArchiveError
from digitise.findings import check_name
from storage import ObjectStore

MISFILED = "misfiled."


@dataclass(frozen=True)
class Flag:
    page: int  # in the latest use copy
    source_sha256: str
    source_frame: int
    messages: list[str]  # the check's words for this page (ID, name, birth date)
    material: Material | None  # the catalogue entry the page lies in (None: no entry claims it)
    decision: PageCheck | None

    @property
    def open(self) -> bool:
        return self.decision is None

    @property
    def names(self) -> str:
        return "；".join(self.messages)


def flags(session: Session, store: ObjectStore, dossier: Dossier) -> list[Flag]:
    """Every page of the latest copy the misfiled-page check flagged, with its decision if there is one."""
    copy = latest_use_copy(session, dossier)
    found: dict[int, list[str]] = defaultdict(list)
    for f in (copy.qc_results or []) if copy else []:
        if f["code"].startswith(MISFILED) and f.get("page"):
            found[f["page"]].append(f"{check_name(f['code'])}：{f['message']}")
    if not found:
        return []
    card = latest_sidecar(session, store, dossier)
    assert card is not None, "a use copy has its sidecar"
    pages = {p["page"]: p for p in card["pages"]}
    decided = {(c.source_sha256, c.source_frame): c for c in decisions(session, dossier)}
    out = []
    for page, messages in sorted(found.items()):
        scan = pages.get(page)
        if scan is None:  # a copy whose sidecar lacks the page cannot anchor a decision; nothing to offer
            continue
        key = (scan["source_sha256"], scan["source_frame"])
        out.append(Flag(page, *key, messages, _material_of(dossier, page), decided.get(key)))
    return out


def decisions(session: Session, dossier: Dossier) -> list[PageCheck]:
    return list(session.scalars(select(PageCheck).where(PageCheck.dossier_id == dossier.id).order_by(PageCheck.id)))


def flags_in_scope(session: Session, store: ObjectStore, use_request: RetrievalRequest) -> list[Flag]:
    """The open flags on pages the request would serve: pages of the materials of the classes it asks for."""
    dossier = session.get(Dossier, use_request.dossier_id)
    assert dossier is not None
    return [
        f
        for f in flags(session, store, dossier)
        if f.open and f.material and top_class(f.material.material_class.code) in use_request.material_classes
    ]


def _material_of(dossier: Dossier, page: int) -> Material | None:
    return next(
        (m for m in catalogue(dossier) if m.first_page and m.last_page and m.first_page <= page <= m.last_page), None
    )


def decide_page(
    session: Session,
    store: ObjectStore,
    archivist: User,
    dossier: Dossier,
    page: int,
    outcome: str,
    reason: str,
    client: str,
    drop_entry: bool = False,
) -> PageCheck:
    """The archivist's decision on a flagged page of the latest copy: checked (it belongs here) or removed."""
    require(archivist, Action.digitise)
    if dossier.custodian_id != archivist.organisation_id:
        raise ArchiveError("dossier.not_in_custody", "只能核对本馆保管的档案", "archival_code", 403)
    try:
        chosen = PageOutcome(outcome)
    except ValueError:
        raise ArchiveError("outcome.unknown", "请选择核对结果：属本人材料，或移出本卷", "outcome", 422) from None
    reason = reason.strip()
    if not reason:
        raise ArchiveError(
            "reason.required", "请写明理由：核对了什么（属本人材料），或该页属于谁、去向何处（移出）", "reason", 422
        )
    if len(reason) > 500:
        raise ArchiveError("reason.too_long", "理由不能超过 500 个字", "reason", 422)
    flag = next((f for f in flags(session, store, dossier) if f.page == page), None)
    if flag is None:
        raise ArchiveError("page.not_flagged", f"第 {page} 页没有疑似他人材料的警告", "page", 404)
    if flag.decision is not None:
        d = flag.decision
        raise ArchiveError(
            "page.already_decided",
            f"第 {page} 页已由 {d.actor.display_name} 于 {_when(d)} 处理（{d.outcome.label}）",
            "page",
            409,
        )
    copy = latest_use_copy(session, dossier)
    assert copy is not None
    entry = f"{flag.material.sequence} {flag.material.title}" if flag.material else ""
    check = PageCheck(
        dossier_id=dossier.id, source_sha256=flag.source_sha256, source_frame=flag.source_frame, outcome=chosen,
        reason=reason, page=page, copy_version=copy.version, flags=flag.names, material=entry, actor_id=archivist.id,
    )  # fmt: skip
    if chosen is PageOutcome.removed:
        check.catalogue_change = _take_out(session, store, archivist, dossier, flag, drop_entry, check)
    else:
        session.add(check)
        session.flush()
    record_access(
        session, archivist, AccessAction.misfiled_page, client, dossier_id=dossier.id, pages=[page],
        detail=f"{dossier.archival_code} 第 {page} 页（{flag.names}）：{chosen.label}。理由：{reason}"
        + (f"；{check.catalogue_change}" if check.catalogue_change else ""),
        with_change=True,
    )  # fmt: skip
    return check


def _take_out(
    session: Session, store: ObjectStore, archivist: User, dossier: Dossier, flag: Flag, drop_entry: bool,
    check: PageCheck,
) -> str:  # fmt: skip
    """The page leaves the catalogue and the copy: the next use copy is made from the masters without it."""
    change = ""
    material = flag.material
    if material is not None:
        if material.pages <= 1 and not drop_entry:
            raise ArchiveError(
                "page.empties_entry",
                f"第 {flag.page} 页是卷内目录 {material.sequence}《{material.title}》仅有的一页，移出后该条目没有页面。"
                "若整份材料都属于他人，请勾选“同时从卷内目录删除该条目”；否则请先核对目录的页数",
                "drop_entry",
                409,
            )
        if material.pages <= 1 and _is_supplement(session, material):
            raise ArchiveError(
                "page.supplement_entry",
                f"{material.sequence}《{material.title}》是经审核归档的补充材料，不能从目录中删除",
                "drop_entry",
                409,
            )
        change = take_out_page(session, archivist, dossier, material, drop_entry)
    session.add(check)
    session.flush()  # the decision is what keeps the page out of this copy and every later one
    outcome = rebuild_use_copy(session, store, archivist, dossier)
    if not outcome.ok:
        raise ArchiveError(
            "page.rebuild_failed", f"未能生成移出该页后的数字副本，未作任何改动：{outcome.report}", "page", 422
        )
    copy = outcome.use_copy
    assert copy is not None
    return (change + "；" if change else "") + f"生成数字副本第 {copy.version} 版（{copy.pages} 页）"


def _is_supplement(session: Session, material: Material) -> bool:
    from archive_service.transfers.models import MaterialSupplement

    return (
        session.scalar(select(MaterialSupplement.id).where(MaterialSupplement.material_id == material.id)) is not None
    )


def _when(check: PageCheck) -> str:
    return show_time(check.at, "%Y-%m-%d %H:%M")
