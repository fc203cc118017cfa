"""校对与复核 (issue 39, item 5) on SQLite and PostgreSQL, with a file the test registers and digitises itself:
every fact value beside its crop, a clerk's acceptance and correction, the archivist's review (never the
same person's), a step on a value someone else changed meanwhile refused with what they did, the corrected
value on the fact sheet at once and still in force after the copy is made again."""

import hashlib
import io
import random
import subprocess
from datetime import date
from types import SimpleNamespace

import pikepdf
import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.adapters import open_store, search_index
from archive_service.auth.models import User
from archive_service.config import get_settings
from archive_service.digitisation.service import rebuild_use_copy
from archive_service.dossiers.models import DigitalObject, Dossier
from archive_service.finding.worker import apply_outbox
from archive_service.jobs import runner
from archive_service.jobs.kinds import HANDLERS
from digitise.specimen import SpecimenPerson, citizen_id_for, draw_page, save_scan
from tests.archive_service.test_catalogue_path import new_enterprise
from tests.archive_service.test_requests import approved
from tests.archive_service.test_search import find
from tests.archive_service.test_transfers import as_xlsx, row

BORN = date(1957, 6, 13)
HER = SpecimenPerson("韩淑珍", citizen_id_for("110102", BORN, 31, "F"), BORN, "F")


def digitised_form(client, login, tmp_path, who: SpecimenPerson = HER) -> int:
    """A new file from a fresh register: her 职工登记表 (one page, ruled cells), digitised by the job."""
    clerk, archivist = login("clerk"), login("archivist")
    entry = row(71, 姓名=who.name, 性别="女", 公民身份号码=who.citizen_id, 出生日期=who.birth_date.isoformat(),
                退休时间="2012-07-01", 页数=1)  # fmt: skip
    created = client.post(
        "/api/transfers",
        data={"enterprise_id": new_enterprise(client, login)},
        files={"file": ("名册.xlsx", as_xlsx([entry]))},
        headers=clerk,
    )
    assert created.status_code == 201, created.text
    got = client.post(f"/api/transfers/{created.json()['id']}/receive", json={"key": who.citizen_id}, headers=clerk)
    assert got.status_code == 200, got.text
    dossier_id = got.json()["dossier_id"]
    typed = [{"class_code": "1", "title": "职工登记表", "date_formed": "1976.9", "pages": 1}]
    assert client.put(f"/api/dossiers/{dossier_id}/catalogue", json={"materials": typed}, headers=clerk).is_success
    page = draw_page(random.Random(39), who, dpi=300, lines=2, seal=False, noise=2, title="职工登记表", grid=True)
    scan = save_scan(page, tmp_path / "1.png")
    job = client.post(
        f"/api/dossiers/{dossier_id}/digitisation",
        files=[("scans", (scan.name, scan.read_bytes(), "image/png"))],
        headers=archivist,
    )
    assert job.status_code == 202, job.text
    runner.run_next(db.get_engine(), open_store(get_settings()), "test-worker", HANDLERS)
    state = client.get(f"/api/jobs/{job.json()['id']}", headers=archivist).json()
    assert state["state"] == "done", state["error"]
    return dossier_id


def _facts(client, dossier_id, headers) -> dict[str, dict]:
    r = client.get(f"/api/dossiers/{dossier_id}/verification", headers=headers)
    assert r.status_code == 200, r.text
    return {f["target"]: f for f in r.json()["facts"]}


def _sheet(client, dossier_id, headers) -> dict[str, dict]:
    return {f["kind"]: f for f in client.get(f"/api/dossiers/{dossier_id}/facts", headers=headers).json()["facts"]}


def _copies(dossier_id: int) -> list[bytes]:
    """The use copy's versions, oldest first."""
    store = open_store(get_settings())
    with db.get_sessionmaker()() as session:
        query = select(DigitalObject).where(DigitalObject.dossier_id == dossier_id, DigitalObject.role == "use_copy")
        return [b"".join(store.open(o.storage_key)) for o in session.scalars(query.order_by(DigitalObject.version))]


def _text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def _images(pdf: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return [hashlib.sha256(p.Resources.XObject.Im0.read_raw_bytes()).hexdigest() for p in doc.pages]


@pytest.mark.ocr  # her page is read by the engine when the job digitises it
def test_two_people_verify_a_new_files_facts_and_corrections_outlast_a_rerun(client, login, tmp_path):
    clerk, archivist = login("clerk"), login("archivist")
    dossier_id = digitised_form(client, login, tmp_path)
    r = client.post(f"/api/dossiers/{dossier_id}/verification-into-copy", headers=clerk)
    assert r.status_code == 409 and r.json()["code"] == "reading.nothing_corrected"  # nothing to write yet
    facts = _facts(client, dossier_id, clerk)
    assert {k: f["machine"] for k, f in facts.items() if k != "citizen_id"} == {
        "name": HER.name, "birth_date": "1957-06-13", "work_start": "1975-07"
    }  # fmt: skip
    assert facts["citizen_id"]["machine"] == HER.citizen_id
    assert {f["state_label"] for f in facts.values()} == {"机器识别"} and {f["version"] for f in facts.values()} == {0}

    # Each value beside the crop of the page it was read from: a PNG the size of its box (plus a margin), logged.
    birth = facts["birth_date"]
    crop = client.get(birth["crop"], headers=clerk)
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/png"
    x0, y0, x1, y1 = birth["box"]
    width, height = Image.open(io.BytesIO(crop.content)).size
    assert x1 - x0 < width <= x1 - x0 + 2 * (y1 - y0) and y1 - y0 < height < 2 * (y1 - y0)
    with db.get_sessionmaker()() as session:
        logged = session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "proofread_crop")).all()
        clerk_id = session.scalar(select(User.id).where(User.username == "clerk"))
    assert [(e.user_id, e.dossier_id, e.pages) for e in logged] == [(clerk_id, dossier_id, [1])]

    # The clerk accepts her name (Enter): 已校对. She cannot review her own check; the archivist can.
    name = facts["name"]
    url = f"/api/dossiers/{dossier_id}/verification/{name['ref']}"
    r = client.post(url, json={"value": name["machine"], "version": 0}, headers=clerk)
    assert r.status_code == 200 and r.json()["state_label"] == "已校对" and r.json()["version"] == 1
    shown = client.get(f"/dossiers/{dossier_id}/verification", headers=clerk).text
    assert 'data-state="proofread" data-value="韩淑珍" data-mine="1"' in shown  # her page: waiting for another
    r = client.post(url, json={"value": name["machine"], "version": 1}, headers=clerk)
    assert r.status_code == 409 and r.json()["code"] == "reading.same_person" and "双人复核" in r.json()["message"]
    r = client.post(url, json={"value": name["machine"], "version": 1}, headers=archivist)
    assert r.status_code == 200 and r.json()["state"] == "reviewed", r.text
    assert [(c["step"], c["actor_name"]) for c in r.json()["checks"]] == [
        ("accepted", "李接收"), ("reviewed", "王档案")
    ]  # fmt: skip

    # Typing corrects: the clerk reads 3 where the OCR read 13 (a made-up misreading for the test). A bad
    # date is refused naming the field and the rule; the good one is the sheet's value at once.
    url = f"/api/dossiers/{dossier_id}/verification/{birth['ref']}"
    # A version the value never had (a page from before the file was read again): refused in words, not a 500.
    r = client.post(url, json={"value": "1957-06-13", "version": 3}, headers=clerk)
    assert r.status_code == 409 and r.json()["code"] == "reading.changed" and "请刷新页面" in r.json()["message"]
    r = client.post(url, json={"value": "六月", "version": 0}, headers=clerk)
    assert r.status_code == 400 and r.json()["field"] == "value" and "日期" in r.json()["message"]
    r = client.post(url, json={"value": "1957年6月3日", "version": 0}, headers=clerk)
    assert r.status_code == 200 and r.json()["value"] == "1957-06-03" and r.json()["state"] == "proofread"
    assert r.json()["checks"][0]["before"] == "1957-06-13"
    assert [v["value"] for v in _sheet(client, dossier_id, archivist)["birth_date"]["values"]] == ["1957-06-03"]

    # The archivist, looking at the value before the correction, confirms it at the same moment: refused with
    # who changed it to what; nothing of either is lost.
    r = client.post(url, json={"value": "1957-06-13", "version": 0}, headers=archivist)
    assert r.status_code == 409 and r.json()["code"] == "reading.changed" and r.json()["field"] == "version"
    assert "李接收" in r.json()["message"] and "1957-06-03" in r.json()["message"]
    again = _facts(client, dossier_id, archivist)["birth_date"]
    assert again["value"] == "1957-06-03" and again["version"] == 1
    r = client.post(url, json={"value": "1957-06-03", "version": 1}, headers=archivist)
    assert r.status_code == 200 and r.json()["state_label"] == "已复核"

    # A crop of a page the copy does not have: said in words, nothing logged for it.
    r = client.get(f"/api/dossiers/{dossier_id}/verification/9-f0/crop", headers=clerk)
    assert r.status_code == 404 and r.json()["code"] == "crop.page_missing" and "第 9 页" in r.json()["message"]

    # Lines under a threshold of 100 (all the OCR was not wholly sure of) are listed, lowest confidence first; a
    # corrected line is the text the search finds (the index follows the page texts).
    lines = client.get(f"/api/dossiers/{dossier_id}/verification?below=100", headers=clerk).json()["lines"]
    assert len(lines) >= 2 and [x["confidence"] for x in lines] == sorted(x["confidence"] for x in lines)
    line = lines[0]
    url = f"/api/dossiers/{dossier_id}/verification/{line['ref']}"
    r = client.post(url, json={"value": line["machine"] + "（续页）", "version": 0}, headers=clerk)
    assert r.status_code == 200 and r.json()["state"] == "proofread", r.text
    apply_outbox(db.get_engine(), search_index(), wait=True)
    code = client.get(f"/api/dossiers/{dossier_id}", headers=archivist).json()["archival_code"]
    assert code in find("archivist", "续页")
    shown = client.get(f"/dossiers/{dossier_id}/verification?below=100", headers=clerk).text
    assert f'id="r-{line["ref"]}"' in shown and "（续页）" in shown  # the page lists them too, as corrected

    # The corrected text into the use copy's text layer: its next version, every page image byte for byte the same.
    r = client.post(f"/api/dossiers/{dossier_id}/verification-into-copy", headers=clerk)
    assert r.status_code == 201 and r.json()["version"] == 2, r.text
    old, new = _copies(dossier_id)[-2:]
    assert "1957年6月3日" in _text(new) and "1957年6月13日" not in _text(new) and "1957年6月13日" in _text(old)
    assert line["machine"] + "（续页）" in _text(new)
    assert _images(old) == _images(new)

    # The copy made again from the masters: the corrections and reviews stay in force over the new reading.
    with db.get_sessionmaker()() as session:
        actor = session.scalar(select(User).where(User.username == "archivist"))
        outcome = rebuild_use_copy(session, open_store(get_settings()), actor, session.get(Dossier, dossier_id))
        assert outcome.ok, outcome.report
        session.commit()
    facts = _facts(client, dossier_id, clerk)
    assert (facts["birth_date"]["value"], facts["birth_date"]["state"]) == ("1957-06-03", "reviewed")
    assert facts["birth_date"]["machine"] == "1957-06-13" and facts["name"]["state"] == "reviewed"
    assert "1957年6月3日" in _text(_copies(dossier_id)[-1])  # in its text layer too

    # The page without its script: Enter posts the reading's form; a refusal comes back in its row as typed.
    url = f"/dossiers/{dossier_id}/verification/{facts['work_start']['ref']}"
    r = client.post(url, data={"value": "七八年", "version": "0"}, headers=clerk, follow_redirects=False)
    row = r.text[r.text.index(f'id="r-{facts["work_start"]["ref"]}"') :].split("</tr>")[0]
    assert r.status_code == 400 and 'value="七八年"' in row and "参加工作时间应为日期" in row
    # A character nobody can see is refused as on every page form, naming it; nothing saved (version 0 still holds).
    r = client.post(url, data={"value": "1975\u200b-07", "version": "0"}, headers=clerk, follow_redirects=False)
    row = r.text[r.text.index(f'id="r-{facts["work_start"]["ref"]}"') :].split("</tr>")[0]
    assert r.status_code == 422 and "U+200B" in row, row
    r = client.post(url, data={"value": "1975-07", "version": "0"}, headers=clerk, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"#r-{facts['work_start']['ref']}")
    assert [v["value"] for v in _sheet(client, dossier_id, archivist)["birth_date"]["values"]] == ["1957-06-03"]

    # Each value's state where the facts are read: the sheet, the 核查表 and the requester's view.
    sheet = _sheet(client, dossier_id, archivist)
    assert [(v["value"], v["state_label"]) for v in sheet["birth_date"]["values"]] == [("1957-06-03", "已复核")]
    assert [(v["value"], v["state"]) for v in sheet["work_start"]["values"]] == [("1975-07", "proofread")]
    assert [v["state"] for v in sheet["citizen_id"]["values"]] == ["machine"]
    xlsx = client.get(f"/dossiers/{dossier_id}/facts.xlsx", headers=archivist)
    by_label = {r[0]: r for r in list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))[4:]}
    assert [by_label[label][6] for label in ("出生日期", "参加工作时间", "公民身份号码")] == [
        "已复核",
        "已校对",
        "机器识别",
    ]
    request = approved(client, login, SimpleNamespace(archival_code=code))
    shown = client.get(f"/requests/{request['id']}/view", headers=login("sibao")).text
    birth_row = shown[shown.index('data-fact="birth_date"') :].split("</tr>")[0]
    assert "1957-06-03" in birth_row and 'data-state="reviewed">已复核' in birth_row
