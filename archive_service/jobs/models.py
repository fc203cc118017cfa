"""One row per job: what to do, who is at it, how far it got, and how it ended."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, utcnow


class JobKind(enum.StrEnum):
    digitise = "digitise"  # a dossier's scans → masters, PDF/A use copy, sidecar (pages are the progress unit)
    search_reindex = "search_reindex"  # rebuild the whole index beside the live one
    fixity = "fixity"  # re-verify stored objects' SHA-256
    replicate = "replicate"  # copy every object to a second store
    holdings_check = "holdings_check"  # an old ledger's dry run: every problem by sheet, row and column
    holdings_save = "holdings_save"  # … checked again and saved (ledger rows are the progress unit)
    demo_scans = "demo_scans"  # the demo's specimen scans drawn, then queued as digitisation jobs (`make run`)


JOB_KIND_NAMES = {
    JobKind.digitise: "数字化",
    JobKind.search_reindex: "重建检索索引",
    JobKind.fixity: "固定性检查",
    JobKind.replicate: "异地复制",
    JobKind.holdings_check: "存量档案检查",
    JobKind.holdings_save: "存量档案导入",
    JobKind.demo_scans: "生成演示扫描件",
}


class JobState(enum.StrEnum):
    queued = "queued"  # waiting (new, or after a transient failure until `run_after`)
    running = "running"  # claimed by `worker` until `lease_until`; an expired lease is claimed again
    done = "done"
    failed = "failed"  # no more attempts: `error` says why


JOB_STATE_NAMES = {
    JobState.queued: "排队中",
    JobState.running: "进行中",
    JobState.done: "已完成",
    JobState.failed: "失败",
}


class Job(Base):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[JobKind] = mapped_column(Enum(JobKind, native_enum=False, length=20), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, native_enum=False, length=10), default=JobState.queued, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    worker: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None]
    rung_at: Mapped[datetime | None]  # Celery: when the sweeper last re-sent this job's doorbell
    done: Mapped[int] = mapped_column(Integer, default=0)  # pages (or objects, dossiers) done
    total: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)  # the last failure, kept while retrying
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Objects this job is about to store (content keys, known before the put): after a crash the
    # next attempt removes those the catalogue does not record, so no orphan object survives.
    staged_keys: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
