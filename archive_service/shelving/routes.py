"""HTTP API for rooms, shelving, shelf places, policy, projections, the forecast and the climate log."""

from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.deps import CurrentUser, DbSession
from archive_service.dossiers.models import Dossier
from archive_service.dossiers.service import get_dossier
from archive_service.errors import ArchiveError
from archive_service.shelving import climate, forecast, labels, layout, occupancy, placement, planning
from archive_service.shelving.models import ShelfSlot
from archive_service.shelving.schemas import (
    AssignIn,
    CapacityIn,
    CountOut,
    ForecastOut,
    LabelsIn,
    PlaceIn,
    Placement,
    PolicyIn,
    ProfileIn,
    ProfileOut,
    ProjectionIn,
    ProjectionOut,
    ReadingIn,
    ReadingOut,
    RoomIn,
    StaffingOut,
    UnitIn,
    UnitStaffOut,
)
from archive_service.uploads import uploaded_bytes

router = APIRouter(prefix="/api/shelving", tags=["shelving"])


def _room_out(session: Session, user: User, room_id: int) -> occupancy.RoomUse:
    return occupancy.occupancy(session, user, room_id)[0]


@router.get("/rooms", response_model=list[occupancy.RoomUse])
def list_rooms(session: DbSession, user: CurrentUser) -> list[occupancy.RoomUse]:
    """Every room of the bureau with used / capacity per room, unit and layer."""
    return occupancy.occupancy(session, user)


@router.post("/rooms", response_model=occupancy.RoomUse, status_code=201)
def add_room(data: RoomIn, session: DbSession, user: CurrentUser) -> occupancy.RoomUse:
    room = layout.add_room(session, user, layout.RoomForm(**data.model_dump()))
    return _room_out(session, user, room.id)


@router.post("/rooms/{room_id}/units", response_model=occupancy.RoomUse, status_code=201)
def add_unit(room_id: int, data: UnitIn, session: DbSession, user: CurrentUser) -> occupancy.RoomUse:
    layout.add_unit(session, user, room_id, layout.UnitForm(**data.model_dump()))
    return _room_out(session, user, room_id)


@router.get("/profiles", response_model=list[ProfileOut])
def list_profiles(session: DbSession, user: CurrentUser) -> Sequence[object]:
    require(user, Action.view_holdings)
    return layout.profiles(session, user)


@router.post("/profiles", response_model=ProfileOut, status_code=201)
def add_profile(data: ProfileIn, session: DbSession, user: CurrentUser) -> object:
    return layout.add_profile(session, user, **data.model_dump())


def _layer(slot: ShelfSlot) -> occupancy.LayerUse:
    return occupancy.LayerUse(
        slot_id=slot.id,
        code=slot.code,
        column_no=slot.column_no,
        side=slot.side,
        section_no=slot.section_no,
        layer_no=slot.layer_no,
        used=slot.used_volumes,
        capacity=slot.capacity_volumes,
    )


@router.put("/slots/{slot_id}/capacity", response_model=occupancy.LayerUse)
def set_capacity(slot_id: int, data: CapacityIn, session: DbSession, user: CurrentUser) -> occupancy.LayerUse:
    return _layer(layout.set_slot_capacity(session, user, slot_id, data.capacity_volumes))


def _placement(dossier: Dossier, slot: ShelfSlot) -> Placement:
    return Placement(
        dossier_id=dossier.id,
        archival_code=dossier.archival_code,
        slot_id=slot.id,
        slot_code=slot.code,
        slot_label=slot.label,
    )


@router.get("/unshelved", response_model=list[int])
def unshelved(session: DbSession, user: CurrentUser) -> list[int]:
    """Ids of the bureau's files waiting for a shelf place, in archival-code order."""
    return [d.id for d in placement.unshelved(session, user)]


@router.post("/assign", response_model=list[Placement])
def assign(data: AssignIn, session: DbSession, user: CurrentUser) -> list[Placement]:
    """Automatic places for the given files (or every file waiting); all or nothing."""
    files = None if data.dossier_ids is None else [get_dossier(session, user, i) for i in data.dossier_ids]
    placed = placement.auto_assign(session, user, files, data.room_id)
    return [_placement(session.get(Dossier, i), slot) for i, slot in placed.items()]  # type: ignore[arg-type]


@router.put("/dossiers/{dossier_id}/slot", response_model=Placement)
def place(dossier_id: int, data: PlaceIn, session: DbSession, user: CurrentUser) -> Placement:
    """Shelve a file on a chosen layer, or move it there (either is a custody event)."""
    dossier = get_dossier(session, user, dossier_id)
    if data.slot_code:
        slot = layout.slot_by_code(session, user, data.slot_code)
    elif data.slot_id is not None:
        slot = layout.get_slot(session, user, data.slot_id)
    else:
        raise ArchiveError("slot.required", "请扫描架位条码或选择架位", "slot_id", 422)
    placement.place(session, user, dossier, slot)
    return _placement(dossier, slot)


@router.post("/labels")
def label_sheet(data: LabelsIn, session: DbSession, user: CurrentUser) -> Response:
    pdf = labels.labels(session, user, data.dossier_ids, data.slot_ids, data.start_at)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": 'attachment; filename="labels.pdf"'}
    )


@router.get("/policy", response_model=planning.Policy)
def get_policy(session: DbSession, user: CurrentUser) -> planning.Policy:
    require(user, Action.view_holdings)
    return forecast.policy_for(session, user.organisation_id)


@router.get("/policy/presets", response_model=list[planning.Policy])
def list_presets(user: CurrentUser) -> list[planning.Policy]:
    return list(planning.presets().values())


@router.put("/policy", response_model=planning.Policy)
def put_policy(data: PolicyIn, session: DbSession, user: CurrentUser) -> planning.Policy:
    require(user, Action.set_space_policy)
    policy = forecast.policy_from(data.preset, data.model_dump(exclude={"preset"}))
    return forecast.set_policy(session, user, policy)


@router.get("/staffing", response_model=StaffingOut)
def get_staffing(session: DbSession, user: CurrentUser) -> StaffingOut:
    """Service staff to add by unit under the bureau's policy (002 第十一条), from the units' retiree counts."""
    plan = forecast.staffing(session, user)
    rows = [UnitStaffOut.model_validate(r) for r in plan.rows]
    return StaffingOut(
        rows=rows, full_time=plan.full_time, part_time=plan.part_time, basis=plan.basis, by_unit=plan.by_unit
    )


@router.get("/projections", response_model=list[ProjectionOut])
def list_projections(session: DbSession, user: CurrentUser) -> Sequence[object]:
    return forecast.projections(session, user)


@router.put("/projections", response_model=ProjectionOut)
def put_projection(data: ProjectionIn, session: DbSession, user: CurrentUser) -> object:
    return forecast.set_projection(session, user, data.enterprise_id, data.year, data.retirees)


@router.post("/projections/import", response_model=CountOut)
def import_projections(
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> CountOut:
    return CountOut(imported=forecast.import_projections(session, user, uploaded_bytes(file)))


def _params(
    years: int | None = Query(None),
    start_year: int | None = Query(None),
    other_stock_volumes: int = Query(0),
    supplement_growth_pct: float = Query(0.5, ge=0, le=100, allow_inf_nan=False),
    thickness_mm: int | None = Query(None),
) -> forecast.ForecastParams:
    return forecast.ForecastParams(
        years, start_year, other_stock_volumes, Decimal(str(supplement_growth_pct)), thickness_mm
    )


def forecast_out(result: planning.Forecast) -> ForecastOut:
    return ForecastOut(
        policy=result.policy,
        thickness_mm=result.inputs.thickness_mm,
        volumes_per_file=result.inputs.volumes_per_file,
        capacity_volumes=result.capacity_volumes,
        store_area_m2=result.store_area_m2,
        rows=[asdict(r) for r in result.rows],
        room_full_year=result.room_full_year,
        area_short_year=result.area_short_year,
        intake_basis=result.intake_basis,
    )


@router.get("/forecast", response_model=ForecastOut)
def capacity_forecast(
    session: DbSession,
    user: CurrentUser,
    params: forecast.ForecastParams = Depends(_params),
) -> ForecastOut:
    """Year by year: files, volumes, shelving, area and staff by the bureau's policy, when rooms fill."""
    return forecast_out(forecast.run_forecast(session, user, params))


@router.get("/forecast.xlsx")
def forecast_xlsx(
    session: DbSession,
    user: CurrentUser,
    params: forecast.ForecastParams = Depends(_params),
) -> Response:
    data = forecast.forecast_xlsx(forecast.run_forecast(session, user, params))
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="capacity-forecast.xlsx"'},
    )


def _reading_out(reading: object) -> ReadingOut:
    out = ReadingOut.model_validate(reading)
    room = reading.room  # type: ignore[attr-defined]
    return out.model_copy(update={"breaches": room.breaches(out.temperature_c, out.humidity_pct)})


@router.get("/rooms/{room_id}/readings", response_model=list[ReadingOut])
def list_readings(room_id: int, session: DbSession, user: CurrentUser) -> list[ReadingOut]:
    return [_reading_out(r) for r in climate.readings(session, user, room_id)]


@router.post("/rooms/{room_id}/readings", response_model=ReadingOut, status_code=201)
def add_reading(room_id: int, data: ReadingIn, session: DbSession, user: CurrentUser) -> ReadingOut:
    reading = climate.record_reading(session, user, room_id, data.at, data.temperature_c, data.humidity_pct)
    return _reading_out(reading)


@router.post("/rooms/{room_id}/readings/import", response_model=CountOut)
def import_readings(
    room_id: int,
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> CountOut:
    return CountOut(imported=climate.import_readings(session, user, room_id, uploaded_bytes(file)))


@router.get("/climate-alerts", response_model=list[ReadingOut])
def climate_alerts(session: DbSession, user: CurrentUser) -> list[ReadingOut]:
    """Readings of the last 30 days outside their store room's limits."""
    require(user, Action.view_holdings)
    return [_reading_out(a.reading) for a in climate.climate_alerts(session, user.organisation_id)]
