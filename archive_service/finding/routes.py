"""Search over HTTP: JSON for programs, the 检索 page and the logged click-through for people."""

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.deps import DbSession, client_address, current_user
from archive_service.finding import service
from archive_service.finding.worker import search_index
from archive_service.web.pages import templates

router = APIRouter()
# A date field left empty in the form arrives as "": that is no bound, not a bad date.
OptionalDate = Annotated[date | None, BeforeValidator(lambda v: v or None)]


def search_form(
    q: str = Query("", max_length=200),
    enterprise: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Query(default=[]),
    status: list[str] = Query(default=[]),
    material_class: list[int] = Query(default=[]),  # checked against the scheme by the service
    born_from: OptionalDate = None,
    born_to: OptionalDate = None,
    retired_from: OptionalDate = None,
    retired_to: OptionalDate = None,
    page: int = Query(1, ge=1, le=10_000),  # the index's offset must stay a small positive number
    work_from: OptionalDate = None,
    work_to: OptionalDate = None,
) -> service.SearchForm:
    return service.SearchForm(
        q, enterprise, status, material_class, born_from, born_to, retired_from, retired_to, page, work_from, work_to
    )


class PageHitOut(BaseModel):
    page: int
    material: str | None
    material_class: int
    snippet: str  # HTML, <mark> around the match


class FoundOut(BaseModel):
    dossier_id: int
    archival_code: str
    name: str
    citizen_id: str
    enterprise: str
    status: str
    matched_fields: list[str]
    matching_pages: int
    pages: list[PageHitOut]


class SearchOut(BaseModel):
    total: int
    page: int
    pages: int
    results: list[FoundOut]
    facets: dict[str, dict[str, int]]


@router.get("/api/search", tags=["search"], response_model=SearchOut)
def search_api(
    request: Request,
    form: service.SearchForm = Depends(search_form),
    session: Session = DbSession,
    user: User = Depends(current_user),
) -> SearchOut:
    """Dossiers by citizen ID (all 18 or the last 6), name, 档号, enterprise or OCR text, with filters and facets.
    A requester's search is on the access log (query, filters, hit count)."""
    found = service.search_dossiers(session, user, search_index(), form, client_address(request))
    return SearchOut(
        total=found.total,
        page=found.page,
        pages=found.pages,
        results=[
            FoundOut(
                dossier_id=f.dossier_id,
                archival_code=f.archival_code,
                name=f.name,
                citizen_id=f.citizen_id,
                enterprise=f.enterprise,
                status=f.status,
                matched_fields=list(f.hit.fields),
                matching_pages=f.hit.page_count,
                pages=[
                    PageHitOut(page=p.number, material=p.material, material_class=p.top_class, snippet=p.snippet)
                    for p in f.hit.pages
                ],
            )
            for f in found.found
        ],
        facets={name: {v.value: v.count for v in values} for name, values in found.facets.items()},
    )


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(
    request: Request,
    form: service.SearchForm = Depends(search_form),
    session: Session = DbSession,
    user: User = Depends(current_user),
) -> HTMLResponse:
    found = service.search_dossiers(session, user, search_index(), form, client_address(request))
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page" and v]

    def toggled(name: str, value: str) -> str:
        """The query string with one facet value added or, if present, taken away."""
        pair = (name, value)
        kept = [p for p in params if p != pair] if pair in params else [*params, pair]
        return urlencode(kept)

    return templates.TemplateResponse(
        request,
        "search.html",
        {"user": user, "s": found, "qs": urlencode(params), "toggled": toggled, "q": form.q},
    )


@router.get("/search/open", include_in_schema=False)
def open_hit(
    request: Request,
    dossier: int,
    page: int | None = None,
    q: str = "",
    session: Session = DbSession,
    user: User = Depends(current_user),
) -> RedirectResponse:
    target = service.open_hit(session, user, dossier, page, q, client_address(request))
    return RedirectResponse(target, status_code=303)
