"""The search form as a request's query string: one definition for the JSON search and the 检索 page."""

from datetime import date
from typing import Annotated

from fastapi import Query
from pydantic import BeforeValidator, Field

from archive_service.finding import service

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
