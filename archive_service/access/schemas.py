from datetime import date, datetime

from pydantic import BaseModel, Field

from archive_service.access.models import RequestMode, RequestStatus


class RequestIn(BaseModel):
    dossier: str = Field(..., max_length=64, description="档号，或档案本人的18位公民身份号码")
    purpose: str = Field(..., max_length=40, description="configured purpose key, e.g. benefit_change")
    purpose_detail: str = Field(..., max_length=500, description="事由")
    material_classes: list[int] = Field(..., description="top classes 1…10")
    mode: RequestMode
    valid_from: date
    valid_until: date
    reader_name: str = Field(..., max_length=50)
    reader_citizen_id: str = Field(..., max_length=18)
    relationship: str = "none"


class DecisionIn(BaseModel):
    approve: bool
    material_classes: list[int] | None = None
    allow_download: bool = False
    allow_print: bool = False
    reason: str = Field("", max_length=500)


class RequestOut(BaseModel):
    id: int
    number: str
    dossier_id: int
    purpose: str
    purpose_detail: str
    material_classes: list[int]
    mode: RequestMode
    status: RequestStatus
    valid_from: date
    valid_until: date
    reader_name: str
    allow_download: bool
    allow_print: bool
    decision_reason: str
    decided_at: datetime | None
    loan_due: date | None
    approved_pages: list[int] = []

    model_config = {"from_attributes": True}


class ReturnIn(BaseModel):
    complete: bool
    note: str = Field("", max_length=500)


class CloseIn(BaseModel):
    note: str = Field("", max_length=500)  # what was done; required when a copy was asked for and none made


class CopyIn(BaseModel):
    annotation: str = Field(..., max_length=200)


class ReadingOpenIn(BaseModel):
    """阅档登记 opened: the ID the reader shows, and the bureau's other staff present (user ids)."""

    reader_citizen_id: str = Field(..., max_length=18)
    staff: list[int] = Field(default=[], max_length=10)


class ReadingMaterialsIn(BaseModel):
    materials: list[int] = Field(..., max_length=500, description="catalogue entries (material ids) produced")


class ReadingCopyIn(BaseModel):
    materials: list[int] = Field(..., max_length=500, description="produced materials copied")
    annotation: str = Field(..., max_length=200)


class ReadingEndIn(BaseModel):
    complete: bool = Field(..., description="the materials checked back against the catalogue, none missing")
    note: str = Field("", max_length=500)


class ReadingOut(BaseModel):
    id: int
    request_id: int
    request_number: str
    dossier_id: int
    staff: list[str]
    started_at: datetime
    out_at: datetime | None
    ended_at: datetime | None
    materials: list[int]
    slot_id: int | None
    return_check: str
    copies_made: int


class ReadingStaffIn(BaseModel):
    staff: int = Field(..., description="staff who must be present at a 到馆查阅")


class ReadingStaffOut(BaseModel):
    staff: int
    basis: str
