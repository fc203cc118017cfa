"""Pages for store rooms and shelving (map, shelving files, labels, climate log) and capacity planning.
They call the shelving service like the API does; a refused form is shown again with the rule it broke."""

from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, can, require
from archive_service.db import bureau_zone
from archive_service.deps import CurrentUser, DbSession
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, Dossier
from archive_service.dossiers.service import get_dossier
from archive_service.errors import ArchiveError
from archive_service.organisations.models import UNIT_KIND_LABELS, Organisation, OrganisationKind
from archive_service.shelving import climate, forecast, labels, layout, occupancy, placement, planning, staffing
from archive_service.shelving.models import RoomKind
from archive_service.uploads import uploaded_bytes
from archive_service.web.dossier_pages import dossier_page_refused
from archive_service.web.forms import refusal_shows, submitted_text
from archive_service.web.rendering import form_choice, form_number, templates

router = APIRouter(include_in_schema=False)


def _shelving_page(
    request: Request, session: Session, user: User, error: ArchiveError | None = None, status: int = 200
) -> HTMLResponse:
    rooms = occupancy.occupancy(session, user)
    # The files waiting for a place are named files: not for the system administrator (三员分立).
    waiting = placement.unshelved(session, user) if can(user, Action.view_dossiers) else []
    return templates.TemplateResponse(
        request,
        "shelving.html",
        {
            "user": user,
            "rooms": rooms,
            "profiles": layout.profiles(session, user),
            "waiting": waiting,
            "alerts": climate.climate_alerts(session, user.organisation_id),
            "kinds": list(RoomKind),
            "can_manage": can(user, Action.manage_shelving),
            "error": error,
            "done": request.query_params.get("done", ""),
        },
        status_code=status,
    )


@router.get("/shelving", response_class=HTMLResponse)
def shelving_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _shelving_page(request, session, user)


def _refused(request: Request, session: Session, user: User, error: ArchiveError) -> HTMLResponse:
    session.rollback()  # nothing of a refused form stays behind
    return _shelving_page(request, session, user, error, error.status)


@router.post("/shelving/rooms")
def add_room(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    name: str = Form(""),
    kind: str = Form("store"),
    usable_area_m2: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _refused(request, session, user, error)):
        if kind not in RoomKind.__members__:
            raise ArchiveError("kind.unknown", "房间用途应为库房、阅档室或办公室", "kind", 422)
        area = form_number(usable_area_m2, "usable_area_m2")
        if area is None:
            raise ArchiveError("usable_area_m2.required", "请填写使用面积（m²）", "usable_area_m2", 422)
        room = layout.add_room(session, user, layout.RoomForm(name, RoomKind(kind), area))
    return RedirectResponse(f"/shelving?done=已新建{room.kind.label}：{room.name}", status_code=303)


@router.post("/shelving/profiles")
def add_profile(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    name: str = Form(""),
    thickness_mm: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _refused(request, session, user, error)):
        thickness = form_number(thickness_mm, "thickness_mm", int)
        if thickness is None:
            raise ArchiveError("thickness_mm.required", "请填写卷盒厚度（mm）", "thickness_mm", 422)
        profile = layout.add_profile(session, user, name, thickness)
    return RedirectResponse(f"/shelving?done=已新增卷盒规格：{profile.name}", status_code=303)


@router.post("/shelving/units")
def add_unit(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    room_id: int = Form(...),
    code: str = Form(""),
    columns: str = Form("1"),
    sections: str = Form("1"),
    layers: str = Form("6"),
    sides: str = Form("2"),
    usable_width_mm: str = Form("800"),
    profile_id: str = Form(""),
    capacity_per_layer: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _refused(request, session, user, error)):
        form = layout.UnitForm(
            code=code,
            columns=form_number(columns, "columns", int) or 0,
            sections=form_number(sections, "sections", int) or 0,
            layers=form_number(layers, "layers", int) or 0,
            sides=form_number(sides, "sides", int) or 0,
            usable_width_mm=form_number(usable_width_mm, "usable_width_mm", int) or 0,
            profile_id=form_number(profile_id, "profile_id", int),
            capacity_per_layer=form_number(capacity_per_layer, "capacity_per_layer", int),
        )
        unit = layout.add_unit(session, user, room_id, form)
    return RedirectResponse(f"/shelving?done=已新增密集架 {unit.code}（{len(unit.slots)} 层位）", status_code=303)


@router.post("/shelving/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    room_id: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _refused(request, session, user, error)):
        placed = placement.auto_assign(session, user, None, form_number(room_id, "room_id", int))
    if not placed:
        return RedirectResponse(f"/shelving?done={quote('没有待上架的档案')}", status_code=303)
    # Post, then redirect to what was done: reloading the result page shows it again, never assigns again.
    first, last = session.execute(
        select(func.min(CustodyEvent.id), func.max(CustodyEvent.id)).where(
            CustodyEvent.dossier_id.in_(placed), CustodyEvent.kind == CustodyEventKind.shelved
        )
    ).one()
    return RedirectResponse(f"/shelving/assigned?first={first}&last={last}", status_code=303)


@router.get("/shelving/assigned", response_class=HTMLResponse)
def assigned(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    first: int = 0,
    last: int = 0,
) -> Response:
    """One auto-assignment's result: the files this user shelved in it, their layers and the labels to print."""
    require(user, Action.view_dossiers)
    shelved = session.execute(
        select(Dossier, CustodyEvent.to_slot_id)
        .join(CustodyEvent, CustodyEvent.dossier_id == Dossier.id)
        .where(
            CustodyEvent.id.between(first, last),
            CustodyEvent.kind == CustodyEventKind.shelved,
            CustodyEvent.actor_id == user.id,
            Dossier.custodian_id == user.organisation_id,
        )
        .order_by(CustodyEvent.id)
        .limit(20000)
    ).all()
    rows = [(dossier, layout.get_slot(session, user, slot_id)) for dossier, slot_id in shelved if slot_id]
    return templates.TemplateResponse(request, "shelving_assigned.html", {"user": user, "rows": rows})


@router.post("/shelving/labels")
def label_sheet(
    session: DbSession,
    user: CurrentUser,
    dossier_ids: list[int] = Form(default_factory=list),
    slot_ids: list[int] = Form(default_factory=list),
    start_at: str = Form("1"),
) -> Response:
    first = form_number(start_at, "start_at", int) if start_at.strip() else 1
    pdf = labels.labels(session, user, dossier_ids, slot_ids, first or 0)
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": 'inline; filename="labels.pdf"'})


@router.post("/shelving/units/{unit_id}/labels")
def unit_label_sheet(unit_id: int, session: DbSession, user: CurrentUser) -> Response:
    """The labels of a whole shelf: its layers and the volumes on them."""
    pdf = labels.unit_labels(session, user, unit_id)
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": 'inline; filename="labels.pdf"'})


@router.post("/shelving/dossiers/{dossier_id}/slot")
def place(
    dossier_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    slot_code: str = Form(""),
) -> Response:
    """Shelve or move one file by scanning the layer's label (keyboard wedge scanners type the code + Enter)."""
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        dossier = get_dossier(session, user, dossier_id)
        shelving_place = layout.slot_by_code(session, user, slot_code)
        placement.place(session, user, dossier, shelving_place)
    return RedirectResponse(f"/dossiers/{dossier_id}", status_code=303)


def _room_page(
    request: Request, session: Session, user: User, room_id: int, error: ArchiveError | None = None, status: int = 200
) -> HTMLResponse:
    room = layout.get_room(session, user, room_id)
    use = occupancy.occupancy(session, user, room.id)[0]
    readings = climate.readings(session, user, room.id)
    return templates.TemplateResponse(
        request,
        "room.html",
        {
            "user": user,
            "room": room,
            "use": use,
            "readings": [(r, room.breaches(r.temperature_c, r.humidity_pct)) for r in readings],
            "can_record": can(user, Action.record_environment),
            "error": error,
            "done": request.query_params.get("done", ""),
        },
        status_code=status,
    )


@router.get("/shelving/rooms/{room_id}", response_class=HTMLResponse)
def room_page(room_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _room_page(request, session, user, room_id)


@router.post("/shelving/rooms/{room_id}/readings")
def add_reading(
    room_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    at: str = Form(""),
    temperature_c: str = Form(""),
    humidity_pct: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _room_page(request, session, user, room_id, error, error.status)):
        try:
            when = datetime.fromisoformat(at.strip()) if at.strip() else datetime.now(bureau_zone())
        except ValueError:
            raise ArchiveError("at.format", f"读数时间“{at}”应如 2026-11-23 09:00", "at", 422) from None
        temperature = form_number(temperature_c, "temperature_c")
        humidity = form_number(humidity_pct, "humidity_pct")
        if temperature is None or humidity is None:
            raise ArchiveError("reading.required", "请填写温度和相对湿度", "temperature_c", 422)
        climate.record_reading(session, user, room_id, when, temperature, humidity)
    return RedirectResponse(f"/shelving/rooms/{room_id}?done=已记录温湿度", status_code=303)


@router.post("/shelving/rooms/{room_id}/readings/import")
def import_readings(
    room_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> Response:
    with refusal_shows(session, lambda error: _room_page(request, session, user, room_id, error, error.status)):
        n = climate.import_readings(session, user, room_id, uploaded_bytes(file))
    return RedirectResponse(f"/shelving/rooms/{room_id}?done=已导入 {n} 条温湿度记录", status_code=303)


# ---- capacity planning ------------------------------------------------------------------------


def chart(result: planning.Forecast, width: int = 760, height: int = 260) -> dict[str, Any]:
    """Coordinates of the forecast chart (volumes held against shelf capacity), drawn as inline SVG."""
    left, bottom, top = 70, 30, 16
    years = [r.year for r in result.rows]
    top_value = max([r.volumes for r in result.rows] + [result.capacity_volumes, 1]) * 1.1
    step = (width - left - 20) / max(len(years) - 1, 1)

    def y(v: float) -> float:
        return round(top + (height - top - bottom) * (1 - v / top_value), 1)

    points = [(round(left + i * step, 1), y(r.volumes), r) for i, r in enumerate(result.rows)]
    ticks = [(y(top_value * k / 4), int(top_value * k / 4)) for k in range(5)]
    return {
        "width": width,
        "height": height,
        "left": left,
        "bottom": height - bottom,
        "points": points,
        "line": " ".join(f"{x},{yy}" for x, yy, _ in points),
        "capacity_y": y(result.capacity_volumes),
        "ticks": ticks,
    }


def _planning_page(
    request: Request, session: Session, user: User, error: ArchiveError | None = None, status: int = 200
) -> HTMLResponse:
    q = request.query_params
    result = None
    try:
        params = forecast.ForecastParams(
            years=form_number(q.get("years", ""), "years", int),
            start_year=form_number(q.get("start_year", ""), "start_year", int),
            other_stock_volumes=form_number(q.get("other_stock_volumes", ""), "other_stock_volumes", int) or 0,
            supplement_growth_pct=form_number(q.get("supplement_growth_pct", "0.5"), "supplement_growth_pct")
            or Decimal(0),
            thickness_mm=form_number(q.get("thickness_mm", ""), "thickness_mm", int),
        )
        result = forecast.run_forecast(session, user, params)
    except ArchiveError as e:
        error, status = error or e, e.status if error is None else status
    enterprises = session.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.name)
    ).all()
    names = {o.id: o.name for o in enterprises}
    return templates.TemplateResponse(
        request,
        "planning.html",
        {
            "user": user,
            "policy": forecast.policy_for(session, user.organisation_id),
            "presets": planning.presets(),
            "can_set_policy": can(user, Action.set_space_policy),
            "policy_figures": forecast.POLICY_FIGURES,
            "projections": [
                (names.get(p.enterprise_id, p.enterprise_id), p) for p in forecast.projections(session, user)
            ],
            "enterprises": enterprises,
            "staffing": forecast.staffing(session, user),
            "unit_kinds": {**{k.value: v for k, v in UNIT_KIND_LABELS.items()}, "office": "区办", "whole": "全区"},
            "archivists_on_hand": staffing.archivist_staffing(session, user),
            "result": result,
            "chart": chart(result) if result else None,
            "query": str(request.url.query),
            "q": q,
            "error": error,
            "done": q.get("done", ""),
        },
        status_code=status,
    )


@router.get("/planning", response_class=HTMLResponse)
def planning_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _planning_page(request, session, user)


@router.post("/planning/policy")
def set_policy(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    preset: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _planning_page(request, session, user, error, error.status)):
        policy = forecast.set_policy(session, user, forecast.policy_from(preset, {}))
    return RedirectResponse(f"/planning?done=本馆政策已设为：{policy.name}", status_code=303)


@router.post("/planning/policy/custom")
def set_own_policy(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """The bureau's own figures, typed on the planning page: every figure of forecast.POLICY_FIGURES."""
    typed = submitted_text(request)
    with refusal_shows(session, lambda error: _planning_page(request, session, user, error, error.status)):
        figures = {name: form_number(typed.get(name, ""), name, f.kind) for name, f in forecast.POLICY_FIGURES.items()}
        policy = forecast.set_policy(session, user, forecast.policy_from(planning.CUSTOM, figures))
    return RedirectResponse(f"/planning?done=本馆政策已设为：{policy.name}", status_code=303)


@router.post("/planning/projections")
def set_projection(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    enterprise_id: str = Form(""),
    year: str = Form(""),
    retirees: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _planning_page(request, session, user, error, error.status)):
        forecast.set_projection(
            session,
            user,
            form_choice(enterprise_id, "enterprise_id", "企业"),
            form_number(year, "year", int) or 0,
            form_number(retirees, "retirees", int) or 0,
        )
    return RedirectResponse("/planning?done=已保存预计退休人数", status_code=303)


@router.post("/planning/projections/import")
def import_projections(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> Response:
    with refusal_shows(session, lambda error: _planning_page(request, session, user, error, error.status)):
        n = forecast.import_projections(session, user, uploaded_bytes(file))
    return RedirectResponse(f"/planning?done=已导入 {n} 条预计退休人数", status_code=303)
