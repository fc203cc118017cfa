"""HTTP API of 校对与复核: the work list, a step on a reading, the crop it was read from."""

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from archive_service.deps import CurrentUser, DbSession, Store, client_address
from archive_service.dossiers.service import get_dossier
from archive_service.verification import service
from archive_service.verification.schemas import CheckIn, ReadingOut, WorklistOut

router = APIRouter(prefix="/api/dossiers", tags=["verification"])


@router.get("/{dossier_id}/verification", response_model=WorklistOut)
def worklist(
    dossier_id: int,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    below: float = Query(service.LINE_CONFIDENCE_BELOW, ge=0, le=100, description="列出置信度低于此值的文字行"),
) -> WorklistOut:
    dossier = get_dossier(session, user, dossier_id)
    work = service.worklist(session, store, user, dossier, below)
    return WorklistOut(
        dossier_id=dossier.id,
        archival_code=dossier.archival_code,
        facts=[ReadingOut.of(dossier.id, r) for r in work.facts],
        lines=[ReadingOut.of(dossier.id, r) for r in work.lines],
    )


@router.post("/{dossier_id}/verification/{ref}", response_model=ReadingOut)
def check(
    dossier_id: int,
    ref: str,
    data: CheckIn,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> ReadingOut:
    dossier = get_dossier(session, user, dossier_id)
    return ReadingOut.of(dossier.id, service.check(session, store, user, dossier, ref, data.value, data.version))


@router.get("/{dossier_id}/verification/{ref}/crop")
def crop(
    dossier_id: int,
    ref: str,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> Response:
    dossier = get_dossier(session, user, dossier_id)
    image = service.crop(session, store, user, dossier, ref, client_address(request))
    return Response(image, media_type="image/png", headers={"Cache-Control": "private, no-store"})


@router.post("/{dossier_id}/verification-into-copy", status_code=201)
def write_into_use_copy(dossier_id: int, session: DbSession, store: Store, user: CurrentUser) -> dict[str, int | str]:
    """The corrected text into the use copy's text layer: its next version (the images as they were)."""
    copy = service.write_into_use_copy(session, store, user, get_dossier(session, user, dossier_id))
    return {"id": copy.id, "version": copy.version, "sha256": copy.sha256}
