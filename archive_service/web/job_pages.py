"""Pages for background jobs: the list, one job's progress and outcome, and digitising from a dossier's page."""

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from archive_service.config import get_settings
from archive_service.deps import CurrentUser, DbSession, Store
from archive_service.digitisation.service import submit_uploads
from archive_service.dossiers.models import Dossier
from archive_service.dossiers.service import get_dossier
from archive_service.jobs import queue as service
from archive_service.jobs.models import JOB_KIND_NAMES, JOB_STATE_NAMES, JobState
from archive_service.web.dossier_pages import dossier_page_refused
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import templates

router = APIRouter(include_in_schema=False)
templates.env.globals.update(JOB_KIND_NAMES=JOB_KIND_NAMES, JOB_STATE_NAMES=JOB_STATE_NAMES)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    state: str = "",
) -> HTMLResponse:
    wanted = JobState(state) if state in JobState.__members__ else None
    jobs = service.list_jobs(session, user, wanted)
    return templates.TemplateResponse(
        request,
        "jobs.html",
        {
            "user": user,
            "jobs": jobs,
            "state": state,
            "busy": any(j.state in (JobState.queued, JobState.running) for j in jobs),
            # Which file each digitisation is of: several at once (the demo's, a batch's) are told apart.
            "codes": dict(
                session.execute(
                    select(Dossier.id, Dossier.archival_code).where(Dossier.id.in_({j.dossier_id for j in jobs}))
                ).all()
            ),
            "broker": bool(get_settings().broker_url),
        },
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: int, request: Request, session: DbSession, user: CurrentUser) -> HTMLResponse:
    job = service.get_job(session, user, job_id)
    dossier = get_dossier(session, user, job.dossier_id) if job.dossier_id else None
    return templates.TemplateResponse(request, "job.html", {"user": user, "job": job, "dossier": dossier})


@router.post("/jobs/{job_id}/cancel")
def cancel_from_page(job_id: int, session: DbSession, user: CurrentUser) -> Response:
    service.cancel_job(session, user, job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/dossiers/{dossier_id}/digitise")
def digitise_from_page(
    dossier_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    scans: list[UploadFile] = File(...),
) -> Response:
    """Scans chosen on the dossier page; refused scans are named beside the form on that page."""
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        job = submit_uploads(session, store, user, dossier_id, [s for s in scans if s.filename])
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
