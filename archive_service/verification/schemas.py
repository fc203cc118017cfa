"""What the 校对与复核 API says about a reading and takes for a step."""

from datetime import datetime

from pydantic import BaseModel, Field

from archive_service.verification.layer import STATE_LABELS, Reading


class CheckOut(BaseModel):
    version: int
    step: str  # accepted | corrected | reviewed
    before: str
    after: str
    actor_id: int
    actor_name: str
    at: datetime


class ReadingOut(BaseModel):
    ref: str  # names the reading in the current copy: "3-f0", "3-l12"
    page: int
    target: str  # "line" or a fact key
    label: str
    machine: str  # what the OCR read
    value: str  # as it stands (the last acceptance or correction)
    state: str  # machine | proofread | reviewed
    state_label: str  # 机器识别 | 已校对 | 已复核
    version: int  # give it back with a step
    confidence: float | None
    box: list[int]
    excerpt: str
    suspected_alteration: bool
    crop: str  # the crop's address
    checks: list[CheckOut]

    @classmethod
    def of(cls, dossier_id: int, r: Reading) -> "ReadingOut":
        return cls(
            ref=r.ref, page=r.page, target=r.target, label=r.label, machine=r.machine, value=r.value, state=r.state,
            state_label=STATE_LABELS[r.state], version=r.version, confidence=r.confidence, box=list(r.box),
            excerpt=r.excerpt, suspected_alteration=r.suspected,
            crop=f"/api/dossiers/{dossier_id}/verification/{r.ref}/crop",
            checks=[
                CheckOut(version=c.version, step=c.step, before=c.before, after=c.after, actor_id=c.actor_id,
                         actor_name=c.actor.display_name, at=c.at)
                for c in r.checks
            ],
        )  # fmt: skip


class WorklistOut(BaseModel):
    dossier_id: int
    archival_code: str
    facts: list[ReadingOut]
    lines: list[ReadingOut]


class CheckIn(BaseModel):
    value: str = Field(max_length=600, description="与识别值相同即确认（校对或复核），不同即更正")
    version: int = Field(ge=0, description="提交时看到的版本号：他人已改动时拒绝")
