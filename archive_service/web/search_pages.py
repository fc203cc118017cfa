"""The 检索 page: the search form, hits with their pages and facets, and the logged click-through from a hit
to the dossier (or the requester's viewer) at that page."""

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from archive_service.adapters import search_index
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.finding import service
from archive_service.finding.query import search_form
from archive_service.web.rendering import templates

router = APIRouter(include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    form: service.SearchForm = Depends(search_form),
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


@router.get("/search/open")
def open_hit(
    request: Request,
    dossier: int,
    session: DbSession,
    user: CurrentUser,
    page: int | None = None,
    q: str = "",
) -> RedirectResponse:
    target = service.open_hit(session, user, dossier, page, q, client_address(request))
    return RedirectResponse(target, status_code=303)
