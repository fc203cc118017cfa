"""The 利用登记 export names each file's own materials (issue 36, item 3). An approval logs the classes it
grants (1 and 9), deliveries the catalogue entries they served; the register once read the classes as
material row ids and exported "1-2 职工登记表" of another person's file. Walked with a new enterprise's
two files: every exported row is compared with that file's own catalogue."""

import io
import re

import pytest
from openpyxl import load_workbook

from archive_service import db
from archive_service.adapters import open_store
from archive_service.config import get_settings
from archive_service.jobs import runner
from archive_service.jobs.kinds import HANDLERS
from tests.archive_service.test_catalogue_path import ask, marked_scans, new_enterprise
from tests.archive_service.test_transfers import as_xlsx, row

CLASS_NUMERALS = "一二三四五六七八九十"


@pytest.mark.ocr  # its digitised file's pages are read by the engine
def test_each_exported_row_names_materials_of_its_own_files_catalogue(client, login, tmp_path):
    clerk, archivist, auditor = login("clerk"), login("archivist"), login("auditor")
    register = as_xlsx([row(61, 姓名="贺玉兰", 页数=3), row(62, 姓名="段志强", 页数=4)])
    batch = client.post(
        "/api/transfers",
        data={"enterprise_id": new_enterprise(client, login)},
        files={"file": ("名册.xlsx", register)},
        headers=clerk,
    ).json()
    files = {}
    for item in batch["items"]:
        got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": item["citizen_id"]}, headers=clerk)
        files[item["retiree_name"]] = got.json()["dossier_id"]
    catalogues = {
        "贺玉兰": [("2", "自传", "1975", 1), ("1", "干部履历表", "1980.3", 1), ("4", "学历证明材料", "1974.7", 1)],
        "段志强": [
            ("1", "职工登记表", "1978.9", 2), ("9", "招工登记表", "1978.8", 1), ("9", "工资调整审批表", "1993.10", 1),
        ],
    }  # fmt: skip
    for name, entries in catalogues.items():
        typed = [{"class_code": c, "title": t, "date_formed": d, "pages": p} for c, t, d, p in entries]
        r = client.put(f"/api/dossiers/{files[name]}/catalogue", json={"materials": typed}, headers=clerk)
        assert r.status_code == 200, r.text
    # 段志强's file is digitised: four pages, 1-1 on 1–2, 9-1 on 3, 9-2 on 4.
    scans = marked_scans(tmp_path, 4)
    job = client.post(
        f"/api/dossiers/{files['段志强']}/digitisation",
        files=[("scans", (p.name, p.read_bytes(), "image/png")) for p in scans],
        headers=archivist,
    )
    assert job.status_code == 202, job.text
    runner.run_next(db.get_engine(), open_store(get_settings()), "test-worker", HANDLERS)
    assert client.get(f"/api/jobs/{job.json()['id']}", headers=archivist).json()["state"] == "done"

    # Classes 1 and 9 of 段志强's file granted and read page by page; 贺玉兰's file asked for and refused.
    duan = client.get(f"/api/dossiers/{files['段志强']}", headers=archivist).json()["archival_code"]
    he = client.get(f"/api/dossiers/{files['贺玉兰']}", headers=archivist).json()["archival_code"]
    granted = ask(client, login, duan, "online_view")
    for page in granted["approved_pages"]:
        assert client.get(f"/api/requests/{granted['id']}/pages/{page}", headers=login("sibao")).status_code == 200
    form = {**_form(he), "material_classes": [1, 2, 4]}
    refused = client.post("/api/requests", json=form, headers=login("sibao")).json()
    no = {"approve": False, "reason": "用途不符"}
    r = client.post(f"/api/requests/{refused['id']}/decision", json=no, headers=login("approver"))
    assert r.status_code == 200, r.text

    own = {}
    for dossier_id in files.values():
        cat = client.get(f"/api/dossiers/{dossier_id}/catalogue", headers=archivist).json()["materials"]
        own[client.get(f"/api/dossiers/{dossier_id}", headers=archivist).json()["archival_code"]] = cat
    exported = client.get("/api/audit/log.xlsx", headers=auditor)
    assert exported.status_code == 200
    rows = list(load_workbook(io.BytesIO(exported.content)).active.iter_rows(min_row=2, values_only=True))
    ours = [r for r in rows if r[7] in own]
    actions = sorted(r[6] for r in ours)
    assert actions == sorted(["批准", "驳回"] + ["网上查阅"] * len(granted["approved_pages"])), actions
    for seq, _, _, _, _, _, action, code, materials, pages, number, _ in ours:
        catalogue = {f"{m['sequence']} {m['title']}": m for m in own[code]}
        if action in ("批准", "驳回"):
            # Each class granted or refused, with the file's own entries in it.
            scope = granted if action == "批准" else refused
            parts = materials.split("；")
            assert all(p[0] == "第" and p[1] in CLASS_NUMERALS for p in parts), (seq, materials)
            assert [CLASS_NUMERALS.index(p[1]) + 1 for p in parts] == sorted(scope["material_classes"]), materials
            for part in parts:
                n = CLASS_NUMERALS.index(part[1]) + 1
                named = part.split("：", 1)[1]
                expected = [k for k, m in catalogue.items() if int(m["class_code"].split("-")[0]) == n]
                assert named == ("、".join(expected) or "目录中无此类材料"), (seq, materials)
        else:  # the page read belongs to the material named, in this file
            (entry,) = materials.split("；")
            page = int(pages)
            assert entry in catalogue, (seq, materials, sorted(catalogue))
            assert catalogue[entry]["first_page"] <= page <= catalogue[entry]["last_page"]
            assert number == granted["number"]
    # 贺玉兰's refused request named classes 1, 2 and 4: her 干部履历表, 自传 and 学历证明材料 — and nothing
    # of 段志强's (nor of the demo's first file, whose row ids 1, 2 and 4 the classes once were read as).
    refusal = next(r for r in ours if r[6] == "驳回")
    assert re.findall(r"\d+-\d+ \S+?(?=[、；]|$)", refusal[8]) == ["1-1 干部履历表", "2-1 自传", "4-1 学历证明材料"]


def _form(archival_code: str) -> dict:
    from datetime import timedelta

    from archive_service.db import bureau_today
    from tests.archive_service.test_requests import READER

    today = bureau_today()
    return {
        "dossier": archival_code, "purpose": "benefit_change", "purpose_detail": "待遇变更，核对学历",
        "material_classes": [1, 9], "mode": "online_view", "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=6)).isoformat(), "reader_name": "李社保",
        "reader_citizen_id": READER, "relationship": "none",
    }  # fmt: skip
