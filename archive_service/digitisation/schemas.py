"""API shapes of the page-count check (digitisation.page_counts)."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PageCountExplanationIn(BaseModel):
    """The archivist counted the paper file: how many pages it has, and why the register said otherwise."""

    pages: int = Field(ge=1, le=100000)
    reason: str = Field(max_length=500)


class PageCountCheckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    registered: int
    scanned: int
    with_content: int
    found_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    verified_pages: int | None
    reason: str
