"""Shelving in the service, on SQLite and PostgreSQL: layers never overfill (also when two clerks race),
one enterprise's files stay together in archival-code order, moves are custody events, the forecast
reads the bureau's records, the climate log flags breaches. Bad input names the field and the rule."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from archive_service import db
from archive_service.auth.models import User
from archive_service.db import bureau_today
from archive_service.demo import XICHENG, citizen_id
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, Dossier, DossierStatus, Retiree
from archive_service.dossiers.schemas import DossierIn, RetireeIn
from archive_service.dossiers.service import register_existing
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.shelving import climate, forecast, layout, occupancy, placement, planning
from archive_service.shelving.models import EnvironmentReading, RoomKind, ShelfSlot
from archive_service.transfers.models import ItemResult, TransferBatch, TransferItem, TransferKind, TransferStatus


def user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def enterprises(session) -> list[Organisation]:
    return list(
        session.scalars(
            select(Organisation).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.id)
        )
    )


def register(session, archivist: User, enterprise: Organisation, n: int, serial0: int = 900) -> list[Dossier]:
    """Files entered into custody (as received), waiting for a place."""
    out = []
    for i in range(n):
        born = date(1960, 1 + i % 12, 10)
        data = DossierIn(
            retiree=RetireeIn(
                name=f"测试{i}",
                citizen_id=citizen_id(XICHENG, born, serial0 + i, "M"),
                sex="M",
                birth_date=born,
                enterprise_id=enterprise.id,
                hukou_region_code=XICHENG,
                residence_region_code=XICHENG,
            )
        )
        out.append(register_existing(session, archivist, data))
    return out


def small_room(session, archivist: User, layers: int = 3, per_layer: int = 2, name: str = "测试库房"):
    room = layout.add_room(session, archivist, layout.RoomForm(name, RoomKind.store, Decimal(10)))
    layout.add_unit(session, archivist, room.id, layout.UnitForm("T01", 1, 1, layers, 1, capacity_per_layer=per_layer))
    return room


def error_of(call) -> ArchiveError:
    with pytest.raises(ArchiveError) as caught:
        call()
    return caught.value


def test_demo_files_are_shelved_together_by_enterprise_in_archival_code_order(engine, demo):
    with db.get_sessionmaker()() as session:
        archivist = user(session, "archivist")
        waiting = placement.unshelved(session, archivist)
        assert waiting == []
        rows = session.execute(
            select(Dossier.archival_code, Retiree.enterprise_id, ShelfSlot.id, ShelfSlot.shelf_order, ShelfSlot.unit_id)
            .join(Retiree)
            .join(ShelfSlot, Dossier.shelf_slot_id == ShelfSlot.id)
            .where(Dossier.custodian_id == archivist.organisation_id)
            .order_by(ShelfSlot.unit_id, ShelfSlot.shelf_order, Dossier.archival_code)
        ).all()
        assert len(rows) == session.scalar(
            select(func.count()).where(Dossier.custodian_id == archivist.organisation_id)
        )
        # A layer holds one enterprise's files; each enterprise's run of layers is unbroken …
        owners: dict[int, set[int]] = {}
        for _, enterprise, slot, *_ in rows:
            owners.setdefault(slot, set()).add(enterprise)
        assert all(len(o) == 1 for o in owners.values())
        runs = [enterprise for i, (_, enterprise, *_) in enumerate(rows) if i == 0 or rows[i - 1][1] != enterprise]
        assert len(runs) == len(set(runs)) == 4
        # … and along the shelf each enterprise's archival codes only go up.
        for enterprise in set(runs):
            codes = [code for code, e, *_ in rows if e == enterprise]
            assert codes == sorted(codes)
        # The counters agree with what stands on each layer, and nothing exceeds its capacity.
        for slot in session.scalars(select(ShelfSlot)):
            held = session.scalar(
                select(func.coalesce(func.sum(Dossier.volumes), 0)).where(Dossier.shelf_slot_id == slot.id)
            )
            assert slot.used_volumes == held <= slot.capacity_volumes
        assert {s.capacity_volumes for s in session.scalars(select(ShelfSlot))} == {26}  # ⌊800 ÷ 30⌋


def test_new_files_continue_their_enterprise_and_a_new_enterprise_starts_on_an_empty_layer(engine, demo):
    with db.transaction() as session:
        archivist = user(session, "archivist")
        known, fresh = enterprises(session)[0], enterprises(session)[4]
        last = session.scalar(
            select(func.max(ShelfSlot.shelf_order))
            .join(Dossier, Dossier.shelf_slot_id == ShelfSlot.id)
            .join(Retiree)
            .where(Retiree.enterprise_id == known.id)
        )
        files = register(session, archivist, known, 3) + register(session, archivist, fresh, 2, serial0=950)
        placed = placement.auto_assign(session, archivist)
        assert set(placed) == {d.id for d in files}
        for d in files[:3]:
            slot = placed[d.id]
            assert slot.shelf_order >= last  # after (or on) the enterprise's last layer
            neighbours = session.scalars(
                select(Retiree.enterprise_id).join(Dossier).where(Dossier.shelf_slot_id == slot.id)
            ).all()
            assert set(neighbours) == {known.id}
        fresh_slots = {placed[d.id].id for d in files[3:]}
        assert len(fresh_slots) == 1
        together = session.scalars(
            select(Retiree.enterprise_id).join(Dossier).where(Dossier.shelf_slot_id.in_(fresh_slots))
        ).all()
        assert set(together) == {fresh.id}  # started on a layer of its own
        events = session.scalars(
            select(CustodyEvent).where(
                CustodyEvent.dossier_id == files[0].id, CustodyEvent.kind == CustodyEventKind.shelved
            )
        ).all()
        assert len(events) == 1 and events[0].to_slot_id == placed[files[0].id].id
        assert placed[files[0].id].label in events[0].note


def test_assignment_is_all_or_nothing_when_the_room_is_too_small(engine, demo):
    with db.get_sessionmaker()() as session:
        archivist = user(session, "archivist")
        room = small_room(session, archivist, layers=1, per_layer=2)
        files = register(session, archivist, enterprises(session)[0], 3)
        session.commit()
        events_before = session.scalar(select(func.count()).select_from(CustodyEvent))
        error = error_of(lambda: placement.auto_assign(session, archivist, files, room_id=room.id))
        assert (error.code, error.field, error.status) == ("shelving.full", "dossier_ids", 409)
        assert "尚有 1 份档案无处上架" in error.message
        session.rollback()
        assert all(
            d.shelf_slot_id is None
            for d in session.scalars(select(Dossier).where(Dossier.id.in_([d.id for d in files])))
        )
        assert (
            session.scalar(
                select(func.sum(ShelfSlot.used_volumes)).join(ShelfSlot.unit).where(ShelfSlot.unit.has(room_id=room.id))
            )
            == 0
        )
        assert session.scalar(select(func.count()).select_from(CustodyEvent)) == events_before


def test_a_layer_never_holds_more_than_its_capacity(engine, demo):
    with db.get_sessionmaker()() as session:
        archivist = user(session, "archivist")
        room = small_room(session, archivist, layers=1, per_layer=1)
        layer = session.scalar(select(ShelfSlot).join(ShelfSlot.unit).where(ShelfSlot.unit.has(room_id=room.id)))
        a, b = register(session, archivist, enterprises(session)[1], 2)
        placement.place(session, archivist, a, layer)
        error = error_of(lambda: placement.place(session, archivist, b, layer))
        assert (error.code, error.field, error.status) == ("slot.full", "slot_id", 409)
        assert b.shelf_slot_id is None
        session.commit()
        # The database refuses an overfull layer even to code that bypasses the service.
        with pytest.raises(IntegrityError):
            session.execute(update(ShelfSlot).where(ShelfSlot.id == layer.id).values(used_volumes=2))
            session.flush()
        session.rollback()
        error = error_of(lambda: layout.set_slot_capacity(session, archivist, layer.id, 0))
        assert error.field == "capacity_volumes" and "1–1000" in error.message


def test_two_clerks_racing_for_the_last_place_cannot_overfill_it(engine, demo):
    with db.transaction() as session:
        archivist = user(session, "archivist")
        room = small_room(session, archivist, layers=1, per_layer=1)
        layer_id = session.scalar(select(ShelfSlot.id).join(ShelfSlot.unit).where(ShelfSlot.unit.has(room_id=room.id)))
        ids = [d.id for d in register(session, archivist, enterprises(session)[2], 2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def shelve(dossier_id: int) -> None:
        with db.get_sessionmaker()() as session:
            archivist = user(session, "archivist")
            dossier = session.get(Dossier, dossier_id)
            layer = session.get(ShelfSlot, layer_id)
            barrier.wait()
            try:
                placement.place(session, archivist, dossier, layer)
                session.commit()
                outcomes.append("placed")
            except ArchiveError as error:
                session.rollback()
                outcomes.append(error.code)

    threads = [threading.Thread(target=shelve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["placed", "slot.full"]
    with db.get_sessionmaker()() as session:
        assert session.get(ShelfSlot, layer_id).used_volumes == 1
        assert session.scalar(select(func.count()).where(Dossier.shelf_slot_id == layer_id)) == 1


def test_a_move_is_a_custody_event_and_frees_the_old_layer(engine, demo):
    with db.transaction() as session:
        archivist = user(session, "archivist")
        dossier = session.scalar(select(Dossier).where(Dossier.archival_code == "J102-RS-000001"))
        old = session.get(ShelfSlot, dossier.shelf_slot_id)
        old_used = old.used_volumes
        target = session.scalar(select(ShelfSlot).where(ShelfSlot.used_volumes == 0).order_by(ShelfSlot.id))
        same = error_of(lambda: placement.place(session, archivist, dossier, old))
        assert same.code == "slot.same"
        by_code = layout.slot_by_code(session, archivist, target.code)
        assert by_code.id == target.id
        placement.place(session, archivist, dossier, by_code)
        session.refresh(old)
        session.refresh(target)
        assert (old.used_volumes, target.used_volumes) == (old_used - 1, 1)
        move = session.scalars(
            select(CustodyEvent).where(CustodyEvent.dossier_id == dossier.id).order_by(CustodyEvent.id.desc())
        ).first()
        assert (move.kind, move.from_slot_id, move.to_slot_id) == (CustodyEventKind.moved, old.id, target.id)
        assert f"{old.label} → {target.label}" == move.note
        bad = error_of(lambda: layout.slot_by_code(session, archivist, "shelf 3"))
        assert (bad.code, bad.field) == ("slot_code.format", "slot_code")
        # Another bureau's archivist cannot see, use or guess our layers.
        other = user(session, "dongcheng")
        assert error_of(lambda: layout.get_slot(session, other, target.id)).status == 404
        assert error_of(lambda: layout.slot_by_code(session, other, target.code)).status == 404
        assert occupancy.occupancy(session, other) == []


def test_units_rooms_and_profiles_refuse_bad_input_by_field(engine, demo):
    with db.transaction() as session:
        archivist = user(session, "archivist")
        reading_room = next(r for r in layout.rooms(session, archivist) if r.kind is RoomKind.reading)
        store = next(r for r in layout.rooms(session, archivist) if r.kind is RoomKind.store)
        cases = [
            (
                lambda: layout.add_unit(
                    session, archivist, reading_room.id, layout.UnitForm("X", 1, 1, 1, capacity_per_layer=5)
                ),
                "room_id",
                "room.kind",
            ),
            (
                lambda: layout.add_unit(
                    session, archivist, store.id, layout.UnitForm("A01", 1, 1, 1, capacity_per_layer=5)
                ),
                "code",
                "code.duplicate",
            ),
            (
                lambda: layout.add_unit(
                    session, archivist, store.id, layout.UnitForm("Z9", 1, 1, 13, capacity_per_layer=5)
                ),
                "layers",
                "layers.range",
            ),
            (
                lambda: layout.add_unit(session, archivist, store.id, layout.UnitForm("Z9", 1, 1, 6)),
                "profile_id",
                "capacity.required",
            ),
            (
                lambda: layout.add_room(session, archivist, layout.RoomForm("一号库房", RoomKind.store, Decimal(5))),
                "name",
                "name.duplicate",
            ),
            (
                lambda: layout.add_room(session, archivist, layout.RoomForm("新库", RoomKind.store, Decimal(0))),
                "usable_area_m2",
                "usable_area_m2.range",
            ),
            (lambda: layout.add_profile(session, archivist, "薄盒", 2), "thickness_mm", "thickness_mm.range"),
        ]
        for call, field, code in cases:
            error = error_of(call)
            assert (error.field, error.code) == (field, code), error
        clerk = user(session, "clerk")
        assert (
            error_of(lambda: layout.add_room(session, clerk, layout.RoomForm("x", RoomKind.store, Decimal(5)))).status
            == 403
        )


def test_policy_presets_and_a_bureaus_own_figures(engine, demo):
    with db.transaction() as session:
        admin, archivist = user(session, "admin"), user(session, "archivist")
        assert forecast.policy_for(session, admin.organisation_id).preset == "xicheng"  # set by the demo
        other = user(session, "dongcheng")
        assert forecast.policy_for(session, other.organisation_id).preset == "national"  # the default
        assert error_of(lambda: forecast.set_policy(session, archivist, planning.presets()["dalian"])).status == 403
        assert forecast.set_policy(session, admin, forecast.policy_from("dalian", {})).area_m2_per_10k_volumes == 15
        missing = error_of(lambda: forecast.policy_from("custom", {"area_m2_per_10k_volumes": Decimal(40)}))
        assert missing.field == "min_area_m2" and "每名档案管理人员卷数" in missing.message
        assert "_" not in missing.message  # the figures by name, not by key
        unknown = error_of(lambda: forecast.policy_from("mars", {}))
        assert unknown.field == "preset" and "大连市（dalian）" in unknown.message
        figures = {
            "area_m2_per_10k_volumes": Decimal(40),
            "min_area_m2": Decimal(20),
            "min_area_below_volumes": 3000,
            "volumes_per_archivist": 20000,
            "retirees_per_service_staff": 1500,
            "shelving_m_per_m2": Decimal("7.2"),
            "planning_years": 15,
        }
        custom = forecast.set_policy(session, admin, forecast.policy_from("custom", figures))
        assert (custom.preset, custom.area_m2_per_10k_volumes, custom.planning_years) == ("custom", 40, 15)
        assert custom.area_basis == "本馆自定：每万卷 40 m²"
        bad = error_of(
            lambda: forecast.set_policy(
                session, admin, forecast.policy_from("custom", {**figures, "planning_years": 0})
            )
        )
        assert bad.field == "planning_years"


def test_forecast_reads_holdings_open_batches_projections_and_rooms(engine, demo):
    with db.transaction() as session:
        archivist, admin = user(session, "archivist"), user(session, "admin")
        bureau = session.get(Organisation, archivist.organisation_id)
        enterprise = enterprises(session)[0]
        batch = TransferBatch(
            number="YJ-TEST-1",
            kind=TransferKind.intake,
            from_org_id=enterprise.id,
            to_org_id=bureau.id,
            status=TransferStatus.receiving,
        )
        session.add(batch)
        session.flush()
        for i in range(7):
            session.add(
                TransferItem(
                    batch_id=batch.id,
                    row_no=i + 1,
                    citizen_id=f"11010219600101{i:03d}X"[:18],
                    retiree_name="x",
                    declared_volumes=2,
                    declared_pages=10,
                    declared_materials=3,
                )
            )
        session.flush()
        year = bureau_today().year
        params = forecast.ForecastParams(years=3, supplement_growth_pct=Decimal(0))
        waiting = session.scalar(  # the demo's open batch and this one
            select(func.count()).select_from(TransferItem).where(TransferItem.result == ItemResult.pending)
        )
        assert waiting == 7 + 12
        result = forecast.run_forecast(session, admin, params)
        held = session.scalar(
            select(func.count()).where(
                Dossier.custodian_id == bureau.id, Dossier.status.in_([DossierStatus.in_custody, DossierStatus.on_loan])
            )
        )
        projected = sum(p.retirees for p in forecast.projections(session, admin) if p.year == year)
        first = result.rows[0]
        assert (first.year, first.intake_files) == (year, projected + 7 + 12)
        assert first.volumes == held + projected + 14 + 12  # one volume per file so far; two per item of this batch
        assert result.inputs.thickness_mm == 30  # the bureau's first box profile
        assert [r.name for r in result.inputs.rooms] == ["一号库房", "二号库房"]  # store rooms only
        estimated = result.inputs.rooms[1]
        assert estimated.estimated and estimated.capacity_volumes == int(Decimal(90) * Decimal("7.2") * 1000 / 30)
        assert "六(二)" in first.area.basis
        assert (
            error_of(lambda: forecast.run_forecast(session, admin, forecast.ForecastParams(years=0))).field == "years"
        )
        assert error_of(lambda: forecast.run_forecast(session, user(session, "clerk"), params)).status == 403
        xlsx = forecast.forecast_xlsx(result)
        from io import BytesIO

        from openpyxl import load_workbook

        sheet = load_workbook(BytesIO(xlsx)).active
        assert "北京市西城区" in sheet["A1"].value
        assert "依据：西人社发〔2020〕14号 六(二)" in sheet["F2"].value
        assert sheet["A3"].value == year and sheet["D3"].value == first.volumes


def test_projections_import_lists_every_bad_row_and_saves_nothing(engine, demo):
    with db.transaction() as session:
        admin = user(session, "admin")
        before = len(forecast.projections(session, admin))
        code = enterprises(session)[0].credit_code
        bad = (
            f"统一社会信用代码,年份,预计退休人数\n{code},2030,40\n"
            f"91110000XXXXXXXXXX,2030,5\n{code},1999,5\n{code},2031,-3\n"
        ).encode()
        error = error_of(lambda: forecast.import_projections(session, admin, bad))
        assert error.field == "file"
        for row in ("第 3 行「统一社会信用代码」", "第 4 行「年份」", "第 5 行「预计退休人数」"):
            assert row in error.message
        assert len(forecast.projections(session, admin)) == before
        good = f"统一社会信用代码,年份,预计退休人数\n{code},2040,40\n{code},2041,45\n".encode("gbk")
        assert forecast.import_projections(session, admin, good) == 2
        assert error_of(lambda: forecast.import_projections(session, admin, b"a,b\n1,2\n")).code == "file.headers"


def test_climate_readings_outside_the_limits_reach_the_dashboard(engine, demo):
    with db.transaction() as session:
        archivist = user(session, "archivist")
        store = layout.rooms(session, archivist)[0]
        alerts = climate.climate_alerts(session, archivist.organisation_id)
        assert len(alerts) == 1 and "相对湿度 67.5 %" in alerts[0].breaches[0]  # the demo's wet afternoon
        reading = climate.record_reading(
            session, archivist, store.id, datetime(2026, 11, 20, 9, 0), Decimal("25.5"), Decimal(50)
        )
        assert reading.at.astimezone(UTC).hour == 1  # a reading without an offset is Beijing time
        assert store.breaches(Decimal("25.5"), Decimal(50)) == ["温度 25.5 °C 超出 14.0–24.0 °C"]
        future = error_of(
            lambda: climate.record_reading(
                session, archivist, store.id, datetime.now(UTC) + timedelta(days=1), Decimal(20), Decimal(50)
            )
        )
        assert future.field == "at"
        assert (
            error_of(
                lambda: climate.record_reading(
                    session, archivist, store.id, datetime(2026, 1, 1), Decimal(20), Decimal(120)
                )
            ).field
            == "humidity_pct"
        )
        count = session.scalar(select(func.count()).select_from(EnvironmentReading))
        bad = (
            "时间,温度,湿度\n2026-11-01 09:00,19.5,52\n昨天,19,50\n2026-11-01 15:00,abc,50\n2026-11-02 09:00,19,101\n"
        ).encode()
        error = error_of(lambda: climate.import_readings(session, archivist, store.id, bad))
        assert (
            "第 3 行「时间」" in error.message
            and "第 4 行「温度/湿度」" in error.message
            and "第 5 行相对湿度" in error.message
        )
        assert session.scalar(select(func.count()).select_from(EnvironmentReading)) == count
        good = "\ufeff时间,温度,湿度\n2026/11/01 09:00,19.5,52%\n2026-11-01 15:00,20.1,58\n".encode()
        assert climate.import_readings(session, archivist, store.id, good) == 2
        assert error_of(lambda: climate.import_readings(session, archivist, store.id, b"\xff\xfe\x00bad")).code in (
            "file.encoding",
            "file.headers",
        )
