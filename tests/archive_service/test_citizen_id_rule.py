"""One citizen-ID rule for the whole code (issue 36, item 4), walked with new records: a Chongqing retiree
born in 1958 (ID 500103…, a county code of 1997) and a page of a Dalian retiree (210202…) misfiled in her
file. The register takes her, the digitised pages are read by the real OCR, her ID reaches the fact sheet
and the other person's page is flagged — the checks python-stdnum's cn.ric alone would have kept silent."""

import random
from datetime import date

import pytest

from archive_service import db
from archive_service.adapters import open_store
from archive_service.config import get_settings
from archive_service.jobs import runner
from archive_service.jobs.kinds import HANDLERS
from digitise.specimen import SpecimenPerson, draw_page, save_scan
from tests.archive_service.test_catalogue_path import new_enterprise
from tests.archive_service.test_transfers import as_xlsx, row

CHONGQING_1958 = SpecimenPerson("冉秀英", "500103195801018266", date(1958, 1, 1), "F")
DALIAN_1954 = SpecimenPerson("于建国", "210202195406197073", date(1954, 6, 19), "M")


@pytest.mark.ocr
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # OCR-bound; the ID rule is no database's
def test_ids_under_county_codes_younger_than_their_holders_reach_the_fact_sheet_and_the_misfiled_check(
    client, login, tmp_path
):
    clerk, archivist = login("clerk"), login("archivist")
    her = row(
        91,
        姓名=CHONGQING_1958.name,
        性别="女",
        公民身份号码=CHONGQING_1958.citizen_id,
        出生日期="1958-01-01",
        退休时间="2008-01-01",
        页数=2,
    )
    created = client.post(
        "/api/transfers",
        data={"enterprise_id": new_enterprise(client, login)},
        files={"file": ("名册.xlsx", as_xlsx([her]))},
        headers=clerk,
    )
    assert created.status_code == 201, created.text  # the register takes her ID
    batch = created.json()
    got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": CHONGQING_1958.citizen_id}, headers=clerk)
    assert got.status_code == 200, got.text
    dossier_id = got.json()["dossier_id"]
    typed = [
        {"class_code": "1", "title": "职工登记表", "date_formed": "1976.9", "pages": 1},
        {"class_code": "9", "title": "职工退休审批表", "date_formed": "2008.1", "pages": 1},
    ]
    assert client.put(f"/api/dossiers/{dossier_id}/catalogue", json={"materials": typed}, headers=clerk).is_success

    # Her own form, then a page of his, bound into her file by mistake.
    rng = random.Random(36)
    scans = [
        save_scan(draw_page(rng, who, dpi=300, lines=2, seal=False, noise=2, title=title), tmp_path / f"{n}.png")
        for n, (who, title) in enumerate(((CHONGQING_1958, "职工登记表"), (DALIAN_1954, "职工退休审批表")), 1)
    ]
    job = client.post(
        f"/api/dossiers/{dossier_id}/digitisation",
        files=[("scans", (p.name, p.read_bytes(), "image/png")) for p in scans],
        headers=archivist,
    )
    assert job.status_code == 202, job.text
    runner.run_next(db.get_engine(), open_store(get_settings()), "test-worker", HANDLERS)
    state = client.get(f"/api/jobs/{job.json()['id']}", headers=archivist).json()
    assert state["state"] == "done", state["error"]

    sheet = {f["kind"]: f for f in client.get(f"/api/dossiers/{dossier_id}/facts", headers=archivist).json()["facts"]}
    ids = {v["value"]: [e["page"] for e in v["evidence"]] for v in sheet["citizen_id"]["values"]}
    assert ids == {CHONGQING_1958.citizen_id: [1], DALIAN_1954.citizen_id: [2]}
    assert sheet["citizen_id"]["conflict"]  # the file states two IDs: the sheet says so

    page = client.get(f"/dossiers/{dossier_id}", headers=archivist).text
    flagged = page[page.index('data-code="misfiled.citizen_id"') :].split("</tr>")[0]
    assert '<td class="num">2</td>' in flagged and "210202********7073" in flagged
    assert page.count('data-code="misfiled.citizen_id"') == 1  # her own page is not someone else's
