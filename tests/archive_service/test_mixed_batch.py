"""A batch that mixes digitised files with files taken in on paper only (issue 36, item 1): acceptance judges
the digitised copies, the paper-only files are listed and accepted on the receiver's recorded reason, both
sides confirm and the 交接书 says so. A file digitised after a passed round needs a new round. Records made
here: a new enterprise, its register of three, scans drawn by the test."""

import subprocess

from archive_service import db
from archive_service.adapters import open_store
from archive_service.config import get_settings
from archive_service.jobs import runner
from archive_service.jobs.kinds import HANDLERS
from tests.archive_service.conftest import blank_scans
from tests.archive_service.test_catalogue_path import new_enterprise
from tests.archive_service.test_transfers import as_xlsx, row

ALL_GOOD = {"catalogue_image": True, "completeness": True, "legibility": True, "orientation": True,
            "description": True}  # fmt: skip


def digitise(client, archivist, dossier_id: int, pages: int) -> None:
    """The archivist uploads scans on the dossier page; the worker digitises them."""
    scans = blank_scans(pages)
    job = client.post(
        f"/api/dossiers/{dossier_id}/digitisation",
        files=[("scans", (p.name, p.read_bytes(), "image/tiff")) for p in scans],
        headers=archivist,
    )
    assert job.status_code == 202, job.text
    runner.run_next(db.get_engine(), open_store(get_settings()), "test-worker", HANDLERS)
    state = client.get(f"/api/jobs/{job.json()['id']}", headers=archivist).json()
    assert state["state"] == "done", state["error"]


def accept(client, archivist, batch_id: int) -> dict:
    """Start a round, pass every sampled file, conclude."""
    started = client.post(f"/api/transfers/{batch_id}/acceptance", headers=archivist)
    assert started.status_code == 200, started.text
    for dossier_id, _ in started.json()["acceptance"]["sample"]["dossiers"]:
        r = client.post(
            f"/api/transfers/{batch_id}/acceptance/inspections",
            json={"dossier_id": dossier_id, "marks": ALL_GOOD},
            headers=archivist,
        )
        assert r.status_code == 200, r.text
    done = client.post(f"/api/transfers/{batch_id}/acceptance/conclusion", headers=archivist)
    assert done.status_code == 200, done.text
    return done.json()["acceptance"]


def test_a_mixed_batch_is_accepted_on_its_copies_and_its_paper_reason(client, login, tmp_path):
    clerk, archivist = login("clerk"), login("archivist")
    enterprise = new_enterprise(client, login)
    register = as_xlsx([row(81, 姓名="蒋德明", 页数=2), row(82, 姓名="孔繁英", 页数=1), row(83, 姓名="严志刚")])
    created = client.post(
        "/api/transfers", data={"enterprise_id": enterprise}, files={"file": ("名册.xlsx", register)}, headers=clerk
    )
    assert created.status_code == 201, created.text
    batch_id = created.json()["id"]
    ids = []
    for item in created.json()["items"]:
        got = client.post(f"/api/transfers/{batch_id}/receive", json={"key": item["citizen_id"]}, headers=clerk)
        assert got.status_code == 200, got.text
        ids.append(got.json()["dossier_id"])
    codes = [client.get(f"/api/dossiers/{i}", headers=clerk).json()["archival_code"] for i in ids]
    digitise(client, archivist, ids[0], pages=2)  # one file digitised, two on paper only

    # Before acceptance: the refusal names the digitised file and who does the next step.
    page = client.get(f"/transfers/{batch_id}", headers=clerk).text
    assert "尚未验收：本批有 1 份档案有数字化成果" in page and 'id="acceptance-who"' in page
    refused = client.post(
        f"/api/transfers/{batch_id}/confirm", json={"side": "sender", "sender_name": "刘移交"}, headers=clerk
    )
    assert refused.status_code == 409 and codes[0] in refused.json()["message"]
    assert "档案管理员" in refused.json()["message"] and codes[1] not in refused.json()["message"]

    # The machine checks judge the one copy; the two paper-only files are listed, not failed.
    record = accept(client, archivist, batch_id)
    assert record["machine"]["dossiers"] == 1 and record["machine"]["failures"] == []
    assert record["judged"] == [codes[0]] and record["paper_only"] == codes[1:]
    assert record["result"] == "passed" and [c for _, c in record["sample"]["dossiers"]] == [codes[0]]

    # A file digitised after the round passed is judged in a new round before anyone confirms.
    digitise(client, archivist, ids[1], pages=1)
    refused = client.post(
        f"/api/transfers/{batch_id}/confirm", json={"side": "sender", "sender_name": "刘移交"}, headers=clerk
    )
    assert refused.status_code == 409 and "验收后又有档案数字化" in refused.json()["message"]
    assert codes[1] in refused.json()["message"]
    record = accept(client, archivist, batch_id)
    assert record["round"] == 2 and record["judged"] == codes[:2] and record["paper_only"] == [codes[2]]

    # Both sides confirm; the receiver gives the reason for the one file still on paper only.
    r = client.post(
        f"/api/transfers/{batch_id}/confirm", json={"side": "sender", "sender_name": "刘移交"}, headers=clerk
    )
    assert r.status_code == 200, r.text
    r = client.post(f"/api/transfers/{batch_id}/confirm", json={"side": "receiver"}, headers=clerk)
    assert (r.status_code, r.json()["field"]) == (422, "paper_reason") and "1 份档案尚未数字化" in r.json()["message"]
    paper = {"side": "receiver", "paper_reason": "企业扫描设备故障，本馆接收后补做数字化"}
    r = client.post(f"/api/transfers/{batch_id}/confirm", json=paper, headers=clerk)
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    receipt = client.get(f"/api/transfers/{batch_id}/receipt.pdf", headers=clerk)
    assert receipt.status_code == 200, receipt.text
    text = subprocess.run(["pdftotext", "-", "-"], input=receipt.content, capture_output=True, check=True).stdout
    text = "".join(text.decode().split())
    assert "机检2/2份通过" in text and "结论：合格" in text and "另有1份未移交数字化成果" in text
    assert "企业扫描设备故障" in text
    # The paper-only file waits in the digitisation backlog.
    waiting = client.get("/api/digitisation/backlog", headers=archivist).json()
    assert {e["enterprise"]: e["files"] for e in waiting["by_enterprise"]}["北京新华纺织机械厂"] == 1
