"""Search over HTTP for programs: JSON hits with their pages and facets. People search on the 检索 page
(web/search_pages.py); both read the same query string (finding/query.py)."""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from archive_service.adapters import search_index
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.finding import service
from archive_service.finding.query import search_form

router = APIRouter()


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
    session: DbSession,
    user: CurrentUser,
    form: service.SearchForm = Depends(search_form),
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
