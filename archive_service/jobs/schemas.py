from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from archive_service.jobs.models import JobKind, JobState


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: JobKind
    state: JobState
    attempts: int
    max_attempts: int
    done: int = Field(description="pages (digitisation) or objects / dossiers done so far")
    total: int | None
    error: str | None = Field(description="the last failure: kept while retrying, the reason once failed")
    result: dict[str, Any] | None
    dossier_id: int | None
    run_after: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class MaintenanceJobIn(BaseModel):
    kind: Literal["fixity", "replicate", "search_reindex"]
    sample: int | None = Field(None, ge=1, le=10_000_000, description="fixity: check a random sample of N objects")
    to: str | None = Field(
        None, max_length=300, pattern=r"^(local:/\S+|s3(:[a-z0-9][a-z0-9.-]{2,62})?)$",
        description="replicate: local:/path or s3[:bucket]",
    )  # fmt: skip
