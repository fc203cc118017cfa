"""`make run` on a fresh clone took 274 s before the first page, reading the demo's scans while saying
"约需一分钟" (issue 36): the demo now loads what people log in to, and leaves the scans to jobs that the
server's workers run, each visible with its progress on 后台任务."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from archive_service import db
from archive_service.access.models import RequestStatus, RetrievalRequest
from archive_service.adapters import open_store
from archive_service.app import create_app
from archive_service.cli import app as cli
from archive_service.config import get_settings
from archive_service.dossiers.models import DigitisationState, Dossier
from archive_service.jobs.kinds import HANDLERS
from archive_service.jobs.models import Job, JobKind, JobState
from archive_service.jobs.runner import run_one
from tests.archive_service.test_forms_keep_values import _cookie_login


@pytest.mark.ocr  # the job worker's engine reads the demo's forms
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the CLI and the job runner, not SQL
def test_the_demo_queues_its_scans_as_jobs_and_a_worker_digitises_them(engine):
    result = CliRunner().invoke(cli, ["demo", "--retirees", "12", "--with-scans", "--in-background"])
    assert result.exit_code == 0, result.output
    assert "后台任务" in result.output and "约需一分钟" not in result.output
    with db.transaction() as session:
        (job,) = session.scalars(select(Job)).all()  # nothing read yet: the site can serve at once
        assert (job.kind, job.state) == (JobKind.demo_scans, JobState.queued)
        first = session.scalar(select(Dossier).where(Dossier.archival_code == "J102-RS-000001"))
        assert first.digitisation is DigitisationState.not_started
        drawing = job.id

    store = open_store(get_settings())
    assert run_one(engine, store, drawing, "test-worker", HANDLERS).state is JobState.done
    with db.transaction() as session:
        drawn = session.get(Job, drawing)
        assert (drawn.done, drawn.total) == (5, 5) and len(drawn.result["jobs"]) == 5
        queued = session.scalars(select(Job).where(Job.kind == JobKind.digitise).order_by(Job.id)).all()
        assert [j.id for j in queued] == drawn.result["jobs"] and all(j.state is JobState.queued for j in queued)
        assert sum(j.total for j in queued) == drawn.result["pages"] and all(j.dossier_id for j in queued)
        requests = session.scalars(select(RetrievalRequest).where(RetrievalRequest.dossier_id == first.id)).all()
        assert sorted(r.status for r in requests) == [RequestStatus.approved, RequestStatus.submitted]
        last = queued[-1]  # a file of the demo's digitised intake batch: two blank sheets, no OCR
        last_id, dossier_id = last.id, last.dossier_id

    # The jobs page shows every one of them with its progress, to the archivist who owns them.
    with TestClient(create_app()) as client:
        _cookie_login(client, "archivist")
        page = client.get("/jobs").text
    assert page.count("数字化") >= 5 and "生成演示扫描件" in page and f"0/{last.total}" in page
    assert "J102-RS-000001</a>" in page  # each digitisation names its file

    assert run_one(engine, store, last_id, "test-worker", HANDLERS).state is JobState.done
    with db.transaction() as session:
        assert session.get(Dossier, dossier_id).digitisation is DigitisationState.done
