"""The API's shapes for retention rules, files due and 销毁清册."""

from datetime import date, datetime

from pydantic import BaseModel, Field


class RuleIn(BaseModel):
    """Years the file is kept after the state (death, disappearance, emigration); null removes the rule."""

    years: int | None = None
    basis: str = Field(default="", max_length=200)


class RuleOut(BaseModel):
    state: str
    label: str
    years: int | None
    basis: str


class DueOut(BaseModel):
    dossier_id: int
    archival_code: str
    name: str
    status: str  # 在馆 | 借出
    state: str
    state_label: str
    state_on: date
    due_on: date
    on_list: str | None  # an open 销毁清册 that already holds the file
    can_be_listed: bool


class ListIn(BaseModel):
    dossier_ids: list[int] = Field(default_factory=list, max_length=1000)
    reason: str = Field(default="", max_length=500)  # 鉴定意见


class SignIn(BaseModel):
    opinion: str = Field(default="", max_length=200)  # 签批意见, e.g. 同意销毁


class EntryOut(BaseModel):
    row_no: int
    dossier_id: int
    archival_code: str
    name: str
    state_label: str
    state_on: date
    due_on: date
    volumes: int
    pages: int
    shelf_slot: str
    objects_removed: int | None


class SignatureOut(BaseModel):
    signed_by: str
    signed_at: datetime
    opinion: str


class ListOut(BaseModel):
    id: int
    number: str
    status: str
    status_label: str
    reason: str
    drawn_by: str
    drawn_at: datetime
    signatures: list[SignatureOut]
    carried_out_by: str | None
    carried_out_at: datetime | None
    entries: list[EntryOut]
