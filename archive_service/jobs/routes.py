"""HTTP API for jobs: their progress and outcome; digitisation and maintenance jobs are started here."""

from fastapi import APIRouter, File, Form, UploadFile

from archive_service.auth.permissions import Action, require
from archive_service.deps import CurrentUser, DbSession, Store
from archive_service.digitisation import page_counts
from archive_service.digitisation.backlog import Backlog, backlog
from archive_service.digitisation.schemas import PageCountCheckOut, PageCountExplanationIn
from archive_service.digitisation.service import submit_uploads
from archive_service.dossiers.service import get_dossier
from archive_service.jobs import queue as service
from archive_service.jobs.models import JobState
from archive_service.jobs.schemas import JobOut, MaintenanceJobIn

router = APIRouter(prefix="/api", tags=["jobs"])


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(
    session: DbSession,
    user: CurrentUser,
    state: JobState | None = None,
) -> list[JobOut]:
    return [JobOut.model_validate(j) for j in service.list_jobs(session, user, state)]


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: int, session: DbSession, user: CurrentUser) -> JobOut:
    return JobOut.model_validate(service.get_job(session, user, job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: int, session: DbSession, user: CurrentUser) -> JobOut:
    """Stop a queued or running job of the bureau; it ends as failed, naming who stopped it."""
    return JobOut.model_validate(service.cancel_job(session, user, job_id))


@router.post("/jobs", response_model=JobOut, status_code=202)
def start_maintenance(data: MaintenanceJobIn, session: DbSession, user: CurrentUser) -> JobOut:
    """Fixity check, replication to a second store, or a search-index rebuild (administrators)."""
    return JobOut.model_validate(service.start_maintenance(session, user, data.kind, data.sample, data.to))


@router.get("/digitisation/backlog", response_model=Backlog)
def digitisation_backlog(user: CurrentUser, session: DbSession) -> Backlog:
    """The bureau's files held on paper only: how many, the longest waiting, and by enterprise."""
    require(user, Action.view_holdings)
    return backlog(session, user.organisation_id)


@router.post("/dossiers/{dossier_id}/digitisation", response_model=JobOut, status_code=202)
def digitise_dossier(
    dossier_id: int,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    scans: list[UploadFile] = File(..., description="扫描图像或扫描件 PDF，按扫描顺序"),
    languages: str = Form("chi_sim+eng", pattern=r"^[a-z_]+(\+[a-z_]+)*$", max_length=40),
) -> JobOut:
    """Queue the dossier's scans for digitisation; follow the job for pages done and the outcome."""
    return JobOut.model_validate(submit_uploads(session, store, user, dossier_id, scans, languages))


@router.post("/dossiers/{dossier_id}/page-count", response_model=PageCountCheckOut)
def explain_page_count(
    dossier_id: int, data: PageCountExplanationIn, session: DbSession, user: CurrentUser
) -> PageCountCheckOut:
    """The archivist's note on a copy whose pages do not agree with the register: the paper counted, and why."""
    dossier = get_dossier(session, user, dossier_id)
    return PageCountCheckOut.model_validate(page_counts.explain(session, user, dossier, data.pages, data.reason))
