"""Who may find what, and searching: the one place the search scope is decided.

Bureau staff find the dossiers their bureau holds (classified ones included: they keep them).
Requesters find only the dossiers of their usable online requests, never a classified one, and
their text only in the material classes each request was approved for. The scope goes into the
index query itself (`search.Scope`), so counts and facets never include anything else.

Opening a hit is logged (`search_hit_opened`) before the user is sent to the dossier or viewer.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.delivery import online_grants
from archive_service.access.log import AccessAction, record_access
from archive_service.access.models import RetrievalRequest
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, can, require
from archive_service.dossiers.class_schemes import TOP_CLASS_NAMES
from archive_service.dossiers.models import DOSSIER_STATUS_LABELS, DigitisationState, Dossier, DossierStatus
from archive_service.dossiers.service import get_dossier
from archive_service.errors import ArchiveError, NotFound
from archive_service.organisations.models import Organisation
from archive_service.values import mask_citizen_id, mask_ids_in
from digitise.facts import date_spans
from search import Hit, Scope, SearchError, SearchIndex, SearchQuery

log = logging.getLogger("archive.finding")

PAGE_SIZE = 20


@dataclass
class SearchForm:
    q: str = ""
    enterprise: list[int] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    material_class: list[int] = field(default_factory=list)
    born_from: date | None = None
    born_to: date | None = None
    retired_from: date | None = None
    retired_to: date | None = None
    page: int = 1
    work_from: date | None = None  # 参加工作时间, as the file's facts have it
    work_to: date | None = None

    @property
    def asks_nothing(self) -> bool:
        """The form as the page first shows it: no words, no filter."""
        return not any(v for k, v in vars(self).items() if k != "page")


@dataclass
class FoundDossier:
    dossier_id: int
    archival_code: str
    name: str
    citizen_id: str  # masked: the full number is for the dossier page
    enterprise: str
    status: str
    hit: Hit
    use_request: RetrievalRequest | None  # a requester's way in


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    chosen: bool


@dataclass
class SearchPage:
    form: SearchForm
    total: int
    page: int
    pages: int
    found: list[FoundDossier]
    facets: dict[str, list[FacetValue]]


def scope_for(session: Session, user: User) -> tuple[Scope, dict[int, RetrievalRequest]]:
    """The user's search scope, and for a requester the request that opens each granted dossier."""
    if user.role is Role.requester:
        require(user, Action.submit_request)
        use_requests = online_grants(session, user)
        grants: dict[int, set[int]] = {}
        for r in use_requests.values():
            grants.setdefault(r.dossier_id, set()).update(r.material_classes)
        return Scope(grants={d: frozenset(c) for d, c in grants.items()}, exclude_classified=True), use_requests
    require(user, Action.view_dossiers)
    return Scope(custodian_id=user.organisation_id), {}


def _check(form: SearchForm) -> None:
    if form.page < 1:
        raise ArchiveError("search.page", "页码从 1 开始", "page")
    if bad := [s for s in form.status if s not in DossierStatus.__members__]:
        raise ArchiveError("search.status", f"没有“{bad[0]}”这种档案状态", "status")
    if bad_classes := [c for c in form.material_class if c not in range(1, 11)]:
        raise ArchiveError(
            "search.material_class", f"材料类别应为第一至第十类，不是 {bad_classes[0]}", "material_class"
        )
    for low, high, name in (
        (form.born_from, form.born_to, "born_to"),
        (form.retired_from, form.retired_to, "retired_to"),
        (form.work_from, form.work_to, "work_to"),
    ):
        if low and high and high < low:
            raise ArchiveError(f"search.{name}", "日期范围的截止日不能早于起始日", name)
    if len(form.q) > 200:
        raise ArchiveError("search.q", "检索词不超过 200 字", "q")


def split_dates(q: str) -> tuple[str, tuple[str, ...]]:
    """The dates typed into the search box, however written (1978年9月, 一九七八年九月, 1978.09), as ISO
    dates the index matches on every page that writes them in any form; the rest stays words."""
    spans = date_spans(q)
    rest, at = [], 0
    for start, end, _ in spans:
        rest.append(q[at:start])
        at = end
    rest.append(q[at:])
    return " ".join("".join(rest).split()), tuple(dict.fromkeys(d for _, _, d in spans))


def search_dossiers(session: Session, user: User, index: SearchIndex, form: SearchForm, client: str = "") -> SearchPage:
    _check(form)
    scope, use_requests = scope_for(session, user)
    text, dates = split_dates(form.q)
    try:
        query = SearchQuery(
            scope,
            text,
            enterprise_ids=frozenset(form.enterprise),
            statuses=frozenset(form.status),
            material_classes=frozenset(form.material_class),
            birth_from=form.born_from,
            birth_to=form.born_to,
            retired_from=form.retired_from,
            retired_to=form.retired_to,
            dates=dates,
            work_start_from=form.work_from,
            work_start_to=form.work_to,
            offset=(form.page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    except SearchError as e:  # the form's own checks (_check) come first; the port's words are an engineer's
        log.warning("检索索引拒绝了查询：%s", e)
        raise ArchiveError("search.query", "检索条件无法处理，请检查日期、类别和页码后重试", "q") from None
    results = index.search(query)
    # Particulars are shown as the database has them now (the index may lag by a second).
    ids = [h.dossier_id for h in results.hits]
    dossiers = {d.id: d for d in session.scalars(select(Dossier).where(Dossier.id.in_(ids)))}
    found = [
        FoundDossier(
            d.id,
            d.archival_code,
            d.retiree.name,
            mask_citizen_id(d.retiree.citizen_id),
            d.retiree.enterprise.name,
            d.status.label,
            _page_text_for(user, h),
            use_requests.get(d.id),
        )
        for h in results.hits
        if (d := dossiers.get(h.dossier_id)) is not None
    ]
    if user.role is Role.requester and not form.asks_nothing:
        # Who outside the bureau looked for whom is on the log, even when nothing was found or granted:
        # the query and filters and the count, never what the hits hold. Opening the empty form is no search.
        record_access(session, user, AccessAction.search, client, detail=_described(form, results.total))
    return SearchPage(
        form,
        results.total,
        form.page,
        max(1, -(-results.total // PAGE_SIZE)),
        found,
        _labelled(session, _facets_for(user, results.facets), form),
    )


def _facets_for(user: User, facets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """A requester's counts by material class would tell which classes a file holds beyond those granted."""
    return {k: v for k, v in facets.items() if not (user.role is Role.requester and k == "material_class")}


def _page_text_for(user: User, hit: Hit) -> Hit:
    """Page text is for those who may read the pages: custody staff who open copies, and requesters (whose
    scope holds only the pages granted to them). Others — clerks, approvers, auditors, administrators — see
    which pages matched, not what they say. Citizen IDs in the text are masked for everyone: the viewer is
    where a page is read whole."""
    readable = can(user, Action.read_digital_copy) or user.role is Role.requester
    pages = tuple(replace(p, snippet=mask_ids_in(p.snippet) if readable else "") for p in hit.pages)
    return replace(hit, pages=pages)


def _described(form: SearchForm, total: int) -> str:
    filters = [
        f"{label}={value}"
        for label, value in (
            ("企业", ",".join(map(str, form.enterprise))),
            ("状态", ",".join(form.status)),
            ("材料类别", ",".join(map(str, form.material_class))),
            ("出生", f"{form.born_from or ''}–{form.born_to or ''}" if form.born_from or form.born_to else ""),
            (
                "退休",
                f"{form.retired_from or ''}–{form.retired_to or ''}" if form.retired_from or form.retired_to else "",
            ),
            ("参加工作", f"{form.work_from or ''}–{form.work_to or ''}" if form.work_from or form.work_to else ""),
        )
        if value
    ]
    return f"检索“{form.q}”" + (f"（{'；'.join(filters)}）" if filters else "") + f"，命中 {total} 份"


def _labelled(session: Session, facets: dict[str, dict[str, int]], form: SearchForm) -> dict[str, list[FacetValue]]:
    ids = [int(i) for i in facets.get("enterprise", {})]
    names = dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())
    label: dict[str, Callable[[str], str]] = {
        "enterprise": lambda v: names.get(int(v)) or v,
        "status": lambda v: DOSSIER_STATUS_LABELS.get(DossierStatus(v), v),
        "material_class": lambda v: f"第{TOP_CLASS_NAMES[int(v)]}类",
        "digitisation": lambda v: DigitisationState(v).label,
    }
    chosen = {
        "enterprise": {str(e) for e in form.enterprise},
        "status": set(form.status),
        "material_class": {str(c) for c in form.material_class},
        "digitisation": set(),
    }
    return {
        name: [FacetValue(v, label[name](v), n, v in chosen[name]) for v, n in values.items()]
        for name, values in facets.items()
    }


def open_hit(session: Session, user: User, dossier_id: int, page: int | None, q: str, client: str) -> str:
    """Log that a hit was opened, and where it leads: the dossier page, or the requester's viewer."""
    scope, use_requests = scope_for(session, user)
    if scope.grants is not None:
        use_request = use_requests.get(dossier_id)
        if use_request is None:
            raise NotFound("该档案", "dossier_id")
        target = f"/requests/{use_request.id}/view" + (f"?page={page}" if page else "")
        request_id: int | None = use_request.id
    else:
        get_dossier(session, user, dossier_id)  # the dossiers' own visibility rule: another bureau's is "not found"
        target = f"/dossiers/{dossier_id}" + (f"?page={page}#page-{page}" if page else "")
        request_id = None
    record_access(
        session,
        user,
        AccessAction.search_hit_opened,
        client,
        dossier_id=dossier_id,
        pages=[page] if page else None,
        request_id=request_id,
        detail=f"检索词：{q}"[:200],
    )
    return target
