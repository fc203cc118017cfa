"""存量档案导入 in the service, on SQLite and PostgreSQL, with a messy ledger made by the test: the header found
under titles and merged cells, columns proposed and remembered for a sheet of the same shape, every problem
by sheet, row and column, duplicates named with both rows, 15-digit IDs upgraded and kept as written, a file
without an ID held and listed for completion, old date forms, an unknown enterprise mapped, shelving set up
on agreement, a custody event dated by the ledger, the import on the access log with the file's SHA-256,
all-or-nothing or the good rows only — never half — and every imported file found by search at once."""

import hashlib
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.adapters import open_store, search_index
from archive_service.auth.models import User
from archive_service.config import get_settings
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, Dossier, Retiree
from archive_service.errors import ArchiveError
from archive_service.finding import service as finding
from archive_service.finding.worker import apply_outbox
from archive_service.holdings import checking, ledger, ledger_rows, saving, service
from archive_service.holdings import ledger_cells as cells
from archive_service.holdings.decisions import Decisions
from archive_service.holdings.models import HoldingsEntry, HoldingsProblem, ImportState
from archive_service.organisations.models import Organisation
from archive_service.shelving.models import Room, ShelfSlot, ShelvingUnit
from archive_service.transfers import catalogues
from tests.archive_service.holdings_ledgers import PEOPLE, fifteen, gbk_csv, messy_workbook

# ---- the ledger alone (no database) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "written, expected",
    [
        ("1957.6", (1957, 6, None)), ("57年6月", (1957, 6, None)), ("一九五七年六月", (1957, 6, None)),
        ("1957-06-15", (1957, 6, 15)), ("19570615", (1957, 6, 15)), ("一九五七年六月十五日", (1957, 6, 15)),
        ("57.6", (1957, 6, None)), ("1957/6/15", (1957, 6, 15)), ("1957年", (1957, None, None)),
    ],
)  # fmt: skip
def test_old_date_forms(written, expected):
    found = cells.ledger_date(written, latest=date(2010, 12, 31))
    assert (found.year, found.month, found.day) == expected


def test_a_two_digit_year_is_never_in_the_future_and_a_bad_date_is_named():
    assert cells.ledger_date("05年3月", latest=date(2026, 1, 1)).year == 2005
    assert cells.ledger_date("05年3月", latest=date(2004, 1, 1)).year == 1905
    with pytest.raises(Exception, match="不是有效日期"):
        cells.ledger_date("1957.13", latest=date(2026, 1, 1))
    with pytest.raises(Exception, match="不是日期"):
        cells.ledger_date("五十年代", latest=date(2026, 1, 1))


def test_ids_as_ledgers_hold_them():
    full = PEOPLE["fifteen"].citizen_id
    read = cells.read_citizen_id(fifteen(full))
    assert read.citizen_id == full and read.upgraded and read.written == fifteen(full)
    assert cells.read_citizen_id(f" {full[:6]} {full[6:]} ").citizen_id == full  # spaces typed inside
    typo = full[:17] + ("0" if full[17] != "0" else "1")
    assert cells.read_citizen_id(typo).citizen_id is None and "校验码" in cells.read_citizen_id(typo).note
    # Excel keeps 15 significant digits: an 18-digit ID typed into a number cell has lost its end.
    assert "末几位已丢失" in cells.read_citizen_id(float(full[:17] + "0")).note
    assert cells.read_citizen_id(None) == cells.IdReading(None, "")


def test_locations_in_one_text_or_five_columns():
    assert cells.read_location("一号库房 3排2列4层5格") == cells.Location("一号库房", "3", 2, 1, 5, 4)
    assert cells.read_location("二号库房三排十二列B面2节5层") == cells.Location("二号库房", "3", 12, 2, 2, 5)
    assert cells.location_from("一号库房", "A02", "4", "", "6", "") == cells.Location("一号库房", "A02", 4, 1, 1, 6)
    with pytest.raises(Exception, match="缺库房、层"):
        cells.read_location("3排2列")
    assert cells.place_key("一号库房") == cells.place_key("1号 库房") and cells.place_key("03") == "3"


def _catalogue_workbook(rows: list[tuple[str, ...]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(list(catalogues.HEADERS))
    for r in rows:
        book.active.append(list(r))
    out = __import__("io").BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xls_ledger_of_excel_97_is_read_like_any_other():
    """Old ledgers are often .xls (BIFF8): sheets, merged title, header under it, a date cell, a text ID."""
    import xlwt

    from archive_service import workbooks

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("一号库房")
    sheet.write_merge(0, 0, 0, 5, "退休人员档案台账（2003 年）")
    for column, header in enumerate(["姓名", "性别", "出生日期", "身份证号", "原工作单位", "存放位置"]):
        sheet.write(2, column, header)
    dated = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    person = PEOPLE["fifteen"]
    sheet.write(3, 0, person.name)
    sheet.write(3, 1, "女")
    sheet.write(3, 2, person.born, dated)
    sheet.write(3, 3, fifteen(person.citizen_id))
    sheet.write(3, 4, "北京市百货大楼")
    sheet.write(3, 5, "一号库房 A02排4列6层3格")
    book.add_sheet("说明").write(0, 0, "本表由档案室整理")
    out = __import__("io").BytesIO()
    book.save(out)
    data = out.getvalue()
    assert workbooks.kind_of(data, "台账.xls") == "xls"
    first, notes = list(workbooks.sheets(data, "台账.xls"))
    rows = list(first.rows())
    header = ledger.find_header(rows, first.merged)
    assert header is not None and header.row == 3 and first.merged == [((0, 0), (0, 5))]
    row, problems = ledger_rows.read_row("一号库房", 4, rows[-1][1], header.proposed, room="", today=date(2026, 1, 1))
    assert problems == [] and row.citizen_id == person.citizen_id and row.birth_date == person.born
    assert row.location == cells.Location("一号库房", "A02", 4, 1, 3, 6)
    assert ledger.find_header(list(notes.rows()), notes.merged) is None  # a notes sheet has no header


# ---- the ledger in the service --------------------------------------------------------------------


def _user(session, name: str) -> User:
    return session.scalar(select(User).where(User.username == name))


def _enterprise(session, name: str) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def _problems(session, import_id: int) -> list[HoldingsProblem]:
    return list(session.scalars(select(HoldingsProblem).where(HoldingsProblem.import_id == import_id)))


def test_a_messy_ledger_is_read_checked_mended_and_saved(engine, demo):
    data = messy_workbook()
    maker = db.get_sessionmaker()
    with maker() as s:
        archivist = _user(s, "archivist")
        imported = service.start_import(s, archivist, data, "西城台账.xlsx")
        one, two = imported.sheets
        # The header under a title and a date; under a merged 存放位置 its second row names 排 列 层 格.
        assert (one["header_row"], two["header_row"]) == (3, 3)
        assert [one["columns"][one["mapping"][k]] for k in ("archival_code", "birth_date", "citizen_id")] == [
            "原档号", "出生年月", "身份证号码",
        ]  # fmt: skip
        assert [two["columns"][two["mapping"][k]] for k in ("unit", "column", "layer", "section")] == [
            "存放位置/排", "存放位置/列", "存放位置/层", "存放位置/格",
        ]  # fmt: skip
        assert (one["room"], two["room"]) == ("一号库房", "二号库房")  # a sheet per room
        # A column corrected by hand is remembered for the next sheet of this shape (here: a later upload).
        mapping = dict(one["mapping"], remarks=one["columns"].index("备注"))
        service.set_mapping(s, archivist, imported.id, 0, mapping, room="一号库房")
        service.decide(s, archivist, imported.id, Decisions(renumber=True))
        s.commit()
        summary = checking.check_import(s, imported.id)
        s.commit()
        problems = _problems(s, imported.id)
        said = {(p.sheet, p.row): p.message for p in problems if p.blocking}
        # Every problem by sheet and row; nothing saved by the dry run.
        assert s.scalar(select(func.count()).select_from(HoldingsEntry)) == 0
        assert "北京第一机床场" in summary["unknown_enterprises"]
        assert summary["unknown_enterprises"]["北京第一机床场"]["suggestion"]["name"] == "北京第一机床厂"
        assert "是否即“北京第一机床厂”" in said[("一号库房", 6)]
        assert "第 9 行" in said[("一号库房", 7)] and "第 7 行" in said[("一号库房", 9)]  # both rows of the duplicate
        assert "1956.7" in said[("一号库房", 8)] and "不一致" in said[("一号库房", 8)]
        assert "尚未建立" in said[("二号库房", 4)]
        assert ("一号库房", 10) not in said  # no ID: held all the same, to be completed
        assert ("一号库房", 14) not in said  # 合计 under the table is not a row
        assert summary["rows"] == 10 and summary["ids_upgraded"] == 1 and summary["ids_missing"] == 1
        assert summary["new_units"] == [
            {"room": "二号库房", "unit": "1", "columns": 2, "sections": 2, "layers": 1, "sides": 1, "rows": 2,
             "most_in_a_layer": 1},
        ]  # fmt: skip

        # The person maps the misspelt name and agrees to set up the missing shelving; checked again.
        decisions = Decisions(
            renumber=True, enterprises={"北京第一机床场": _enterprise(s, "北京第一机床厂").id}, create_shelving=True
        )
        service.decide(s, archivist, imported.id, decisions)
        s.commit()
        summary = checking.check_import(s, imported.id)
        s.commit()
        assert summary["rejected"] == 3  # the duplicate's two rows and the contradicted birth date

        # All or nothing: refused whole, nothing written, the problems kept.
        service.request_save(s, archivist, imported.id, good_rows_only=False)
        s.commit()
        refused = saving.save_import(s, archivist, imported.id, good_rows_only=False)
        s.commit()
        assert refused["refused"] and s.get(type(imported), imported.id).state is ImportState.refused
        assert s.scalar(select(func.count()).select_from(HoldingsEntry)) == 0
        assert s.scalar(select(func.count()).select_from(ShelvingUnit).join(Room).where(Room.name == "二号库房")) == 0
        logged_before = s.scalar(select(func.count()).select_from(AccessLogEntry))

        # The good rows only.
        service.request_save(s, archivist, imported.id, good_rows_only=True)
        s.commit()
        result = saving.save_import(s, archivist, imported.id, good_rows_only=True, client="127.0.0.1")
        s.commit()
        assert result["saved"] == 7
        query = select(HoldingsEntry).where(HoldingsEntry.import_id == imported.id)
        entries = {(e.sheet, e.row): e for e in s.scalars(query)}
        files = {
            d.retiree.name: d
            for d in s.scalars(select(Dossier).where(Dossier.id.in_([e.dossier_id for e in entries.values()])))
        }
        assert set(files) == {PEOPLE[k].name for k in ("plain", "fifteen", "misspelt", "no_id", "unshelved",
                                                        "room2_a", "room2_b")}  # fmt: skip
        # Renumbered in the bureau's series, the old code kept as 原档号.
        plain = files[PEOPLE["plain"].name]
        assert plain.archival_code.startswith("J102-RS-") and plain.former_archival_code == "XC-1998-0101"
        # The 15-digit ID upgraded, its first form kept as written.
        lin = files[PEOPLE["fifteen"].name]
        assert lin.retiree.citizen_id == PEOPLE["fifteen"].citizen_id
        assert s.get(HoldingsEntry, lin.id).as_written == {"公民身份号码": fifteen(PEOPLE["fifteen"].citizen_id)}
        # The misspelt enterprise mapped; the file without an ID held, its birth date as far as the ledger says.
        assert files[PEOPLE["misspelt"].name].retiree.enterprise.name == "北京第一机床厂"
        granny = files[PEOPLE["no_id"].name].retiree
        assert granny.citizen_id is None and granny.birth_date == date(1940, 6, 1)
        assert s.get(HoldingsEntry, files[PEOPLE["no_id"].name].id).as_written == {"出生日期": "1940.6"}
        assert granny in [d.retiree for d in service.awaiting_ids(s, archivist)]
        # Shelved where the ledger says; the place's counter holds it; the file without a place waits.
        slot = s.get(ShelfSlot, plain.shelf_slot_id)
        assert (slot.unit.room.name, slot.unit.code, slot.column_no, slot.layer_no, slot.section_no) == (
            "一号库房", "A02", 4, 6, 3,
        )  # fmt: skip
        standing = s.scalar(select(func.sum(Dossier.volumes)).where(Dossier.shelf_slot_id == slot.id))
        assert slot.used_volumes == standing >= 4  # the ledger's three files (four volumes), any demo file there
        assert files[PEOPLE["unshelved"].name].shelf_slot_id is None
        new_unit = s.scalar(select(ShelvingUnit).join(Room).where(Room.name == "二号库房"))
        assert new_unit is not None and new_unit.code == "1"
        assert files[PEOPLE["room2_a"].name].shelf_slot_id in {x.id for x in new_unit.slots}
        # One custody event 存量入馆 each, dated by the ledger's 入馆日期 (or the import date, said so).
        events = s.scalars(select(CustodyEvent).where(CustodyEvent.dossier_id == plain.id)).all()
        assert [e.kind for e in events] == [CustodyEventKind.holdings_entry]
        assert db.in_bureau_time(events[0].at).date() == date(1998, 3, 1) and "入馆日期 1998.3" in events[0].note
        undated = s.scalar(select(CustodyEvent).where(CustodyEvent.dossier_id == files[PEOPLE["no_id"].name].id))
        assert "台账未载入馆日期，按导入日期记" in undated.note
        # The import on the access log: who, the file, its SHA-256, the row counts.
        entry = s.scalar(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc()).limit(1))
        assert s.scalar(select(func.count()).select_from(AccessLogEntry)) == logged_before + 1
        assert entry.action == "holdings_import" and entry.user_id == archivist.id
        assert hashlib.sha256(data).hexdigest() in entry.detail and "台账 10 行，导入 7 行，未导入 3 行" in entry.detail

        # The rejected rows as a workbook with a 问题 column, the ledger's own header after it.
        book = load_workbook(__import__("io").BytesIO(service.rejected_workbook(s, archivist, imported.id)))
        sheet = book["一号库房"]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "问题" and rows[0][1:4] == ("序号", "原档号", "姓名")
        assert [r[3] for r in rows[1:]] == [PEOPLE["twice_a"].name, PEOPLE["mismatch"].name, PEOPLE["twice_b"].name]
        assert "重复" in rows[1][0] and "不一致" in rows[2][0]
        assert rows[1][6] == PEOPLE["twice_a"].citizen_id  # an ID stays text, all 18 characters

    # Search finds every imported file at once: by name, by 原档号, and the one without an ID by name.
    apply_outbox(engine, search_index(), wait=True)
    with maker() as s:
        archivist = _user(s, "archivist")
        for query in (PEOPLE["plain"].name, "XC-1998-0101", PEOPLE["no_id"].name, PEOPLE["fifteen"].citizen_id[-6:]):
            found = finding.search_dossiers(s, archivist, search_index(), finding.SearchForm(q=query))
            assert found.total >= 1, query
        assert service.list_imports(s, archivist)[0].state is ImportState.saved


def test_gbk_csv_a_new_room_set_up_and_the_mapping_remembered(engine, demo):
    maker = db.get_sessionmaker()
    with maker() as s:
        archivist = _user(s, "archivist")
        imported = service.start_import(s, archivist, gbk_csv(), "三号库房.csv")
        (sheet,) = imported.sheets
        assert sheet["header_row"] == 2 and sheet["mapping"]["location"] == 6
        # The ledger's codes are not this bureau's: kept only with renumbering, said by row.
        checking.check_import(s, imported.id)
        s.commit()
        said = [p.message for p in _problems(s, imported.id) if p.blocking]
        assert any("不以本馆全宗号 J102 开头" in m and "重新编号" in m for m in said)
        assert any("库房“三号库房”尚未建立" in m for m in said)
        with pytest.raises(ArchiveError, match="使用面积"):
            service.decide(s, archivist, imported.id, Decisions(room_areas={"三号库房": Decimal(0)}))
        s.rollback()
        service.decide(
            s, archivist, imported.id,
            Decisions(renumber=True, create_shelving=True, room_areas={"三号库房": Decimal(40)}),
        )  # fmt: skip
        summary = checking.check_import(s, imported.id)
        assert summary["rejected"] == 0 and summary["missing_rooms"]["3号库房"]["name"] == "三号库房"
        s.commit()
        service.request_save(s, archivist, imported.id, good_rows_only=False)
        result = saving.save_import(s, archivist, imported.id, good_rows_only=False)
        s.commit()
        assert result["saved"] == 2
        room = s.scalar(select(Room).where(Room.name == "三号库房"))
        assert room is not None and room.usable_area_m2 == 40
        slot = room.units[0].slots[1]  # column 1, layer 2, section 1
        assert slot.used_volumes == 2
        # Their 卷内目录 through the workbook and rules of a batch's: by 原档号 for one, by ID for the other.
        catalogue = _catalogue_workbook([
            ("XC-2010-0001", "", "1", "职工登记表", "1958.3", "1", "2"),
            ("", PEOPLE["csv_b"].citizen_id, "9", "职工退休审批表", "1999年5月", "1", "3"),
        ])  # fmt: skip
        done = catalogues.import_for_held_files(s, open_store(get_settings()), archivist, catalogue, "目录.xlsx")
        s.commit()
        assert done == {"files": 2, "materials": 2}
        granny = s.scalar(select(Dossier).where(Dossier.former_archival_code == "XC-2010-0001"))
        assert [m.title for m in granny.materials] == ["职工登记表"] and granny.pages == 2
        with pytest.raises(ArchiveError, match="已有目录"):
            catalogues.import_for_held_files(s, open_store(get_settings()), archivist, catalogue, "目录.xlsx")
        s.rollback()
        # The same ledger again: every row is a file already held, named by its 档号.
        again = service.start_import(s, archivist, gbk_csv(), "三号库房.csv")
        service.decide(s, archivist, again.id, Decisions(renumber=True))
        checking.check_import(s, again.id)
        said = [p.message for p in _problems(s, again.id) if p.blocking]
        assert len([m for m in said if "与在馆档案 J102-RS-" in m]) >= 2


def test_a_file_without_an_id_is_completed_later(engine, demo):
    maker = db.get_sessionmaker()
    with maker() as s:
        archivist = _user(s, "archivist")
        imported = service.start_import(s, archivist, messy_workbook(), "台账.xlsx")
        service.set_mapping(s, archivist, imported.id, 1, imported.sheets[1]["mapping"], skip=True)
        service.decide(
            s, archivist, imported.id,
            Decisions(renumber=True, enterprises={"北京第一机床场": _enterprise(s, "北京第一机床厂").id}),
        )  # fmt: skip
        checking.check_import(s, imported.id)
        s.commit()
        saving.save_import(s, archivist, imported.id, good_rows_only=True)
        s.commit()
        (waiting,) = [d for d in service.awaiting_ids(s, archivist) if d.retiree.name == PEOPLE["no_id"].name]
        granny = PEOPLE["no_id"]
        with pytest.raises(ArchiveError, match="性别"):
            service.complete_citizen_id(s, archivist, waiting, PEOPLE["plain"].citizen_id)  # a man's ID
        with pytest.raises(ArchiveError, match="已有档案登记"):
            service.complete_citizen_id(s, archivist, waiting, PEOPLE["fifteen"].citizen_id)  # another file's
        s.rollback()
        waiting = s.get(Dossier, waiting.id)
        service.complete_citizen_id(s, archivist, waiting, granny.citizen_id, "127.0.0.1")
        s.commit()
        assert s.get(Dossier, waiting.id).retiree.citizen_id == granny.citizen_id
        assert s.get(Dossier, waiting.id).retiree.birth_date == granny.born
        assert waiting.id not in [d.id for d in service.awaiting_ids(s, archivist)]
        assert s.scalar(select(Retiree.id).where(Retiree.citizen_id.is_(None))) is None


# ---- the API, with its jobs run here ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the routes' shapes; the rules ran on both above
def test_the_api_walks_an_import_and_refuses_by_name(client, login):
    from archive_service.adapters import open_store
    from archive_service.config import get_settings
    from archive_service.jobs import runner
    from archive_service.jobs.kinds import HANDLERS

    def run_jobs() -> None:
        while runner.run_next(db.get_engine(), open_store(get_settings()), "test-worker", HANDLERS) is not None:
            pass

    archivist = login("archivist")
    # Not a ledger: the refusal names the file and the rule, in the one error shape.
    r = client.post("/api/holdings", files={"file": ("x.csv", "甲,乙\n1,2\n".encode())}, headers=archivist)
    assert r.status_code == 422 and r.json()["field"] == "file" and "未找到表头" in r.json()["message"]
    r = client.post("/api/holdings", files={"file": ("三号库房.csv", gbk_csv())}, headers=archivist)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["sheets"][0]["header_row"] == 2
    # Another bureau's archivist, and a requester, never see it.
    assert client.get(f"/api/holdings/{made['id']}", headers=login("dongcheng")).status_code == 404
    assert client.get(f"/api/holdings/{made['id']}", headers=login("sibao")).status_code == 403
    bad = client.put(f"/api/holdings/{made['id']}/sheets/0", json={"mapping": {"name": 0, "citizen_id": 0}},
                     headers=archivist)  # fmt: skip
    assert bad.status_code == 422 and "不能同时对应" in bad.json()["message"]
    decisions = {"renumber": True, "create_shelving": True, "room_areas": {"三号库房": "35.5"}}
    assert client.put(f"/api/holdings/{made['id']}/decisions", json=decisions, headers=archivist).status_code == 200
    assert client.post(f"/api/holdings/{made['id']}/save", json={}, headers=archivist).status_code == 409  # unchecked
    assert client.post(f"/api/holdings/{made['id']}/check", headers=archivist).status_code == 202
    run_jobs()
    shown = client.get(f"/api/holdings/{made['id']}", headers=archivist).json()
    assert shown["state"] == "checked" and shown["summary"]["rejected"] == 0, shown
    assert client.post(f"/api/holdings/{made['id']}/save", json={}, headers=archivist).status_code == 202
    run_jobs()
    shown = client.get(f"/api/holdings/{made['id']}", headers=archivist).json()
    assert shown["state"] == "saved" and shown["summary"]["saved"] == 2 and shown["summary"]["indexed"] is True
    # Found at once by the search the API serves.
    found = client.get("/api/search", params={"q": PEOPLE["csv_a"].name}, headers=archivist).json()
    assert found["total"] == 1
    assert client.get(f"/api/holdings/{made['id']}/rejected.xlsx", headers=archivist).status_code == 404
