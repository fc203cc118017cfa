"""The bureau's main path with new data, none of the demo's files: a new enterprise's register of three
retirees → receive → catalogue (imported before and after receipt, and typed) → digitise scans made
here → shelve → a 待遇变更 request granted classes 1 and 9 → the requester sees exactly those pages,
watermarked → the certified copy holds them → the auditor finds every step. Also the catalogue's rules:
all or nothing, problems by row and field, item numbers assigned, revisions recorded, pages re-linked."""

import base64
import io
import random
import re
from datetime import timedelta

import numpy as np
import pikepdf
import pytest
from openpyxl import load_workbook
from PIL import Image, ImageDraw
from sqlalchemy import select

from archive_service import db
from archive_service.adapters import open_store
from archive_service.config import get_settings
from archive_service.db import bureau_today
from archive_service.jobs import runner
from archive_service.jobs.kinds import HANDLERS
from archive_service.values import credit_code_check_char
from digitise.specimen import draw_page, person, save_scan
from tests.archive_service.conftest import blank_scans
from tests.archive_service.test_requests import READER
from tests.archive_service.test_transfers import XICHENG, as_xlsx, row
from tests.rendering import likeness, render

# A catalogue as an enterprise sends it: rows of three files, not in order, titles and dates as typed.
CATALOGUE_HEADERS = ("档号", "公民身份号码", "类号", "材料名称", "形成时间", "份数", "页数", "备注")


def sheet(rows: list[tuple]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(list(CATALOGUE_HEADERS))
    for r in rows:
        book.active.append(list(r))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def marked_scans(folder, count: int) -> list:
    """Pages told apart by a dark bar at a different height on each (so a served page shows which it is)."""
    paths = []
    for n in range(count):
        page = Image.new("L", (1654, 2339), 245)  # A4 at 200 dpi
        top = 200 + n * 300
        ImageDraw.Draw(page).rectangle((150, top, 1500, top + 220), fill=20)
        path = folder / f"scan-{n + 1}.png"
        page.save(path, dpi=(200, 200))
        paths.append(path)
    return paths


def new_enterprise(client, login) -> int:
    first17 = "91110102" + "".join(random.Random(7).choice("0123456789") for _ in range(9))
    r = client.post(
        "/api/organisations",
        json={
            "name": "北京新华纺织机械厂",
            "kind": "enterprise",
            "credit_code": first17 + credit_code_check_char(first17),
            "region_code": XICHENG,
        },
        headers=login("admin"),
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def ask(client, login, archival_code: str, mode: str) -> dict:
    """A 待遇变更 request for classes 1 and 9, submitted by the social-insurance officer and approved."""
    today = bureau_today()
    form = {
        "dossier": archival_code, "purpose": "benefit_change", "purpose_detail": "待遇变更，核对参加工作时间",
        "material_classes": [1, 9], "mode": mode, "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=6)).isoformat(), "reader_name": "李社保",
        "reader_citizen_id": READER, "relationship": "none",
    }  # fmt: skip
    submitted = client.post("/api/requests", json=form, headers=login("sibao"))
    assert submitted.status_code == 201, submitted.text
    decided = client.post(
        f"/api/requests/{submitted.json()['id']}/decision",
        json={"approve": True, "material_classes": [1, 9]},
        headers=login("approver"),
    )
    assert decided.status_code == 200, decided.text
    return decided.json()


@pytest.mark.ocr  # its six scans are read by the engine when the job digitises them
def test_a_new_enterprises_files_from_register_to_the_requesters_screen(client, login, tmp_path):
    clerk, archivist = login("clerk"), login("archivist")
    enterprise = new_enterprise(client, login)
    register = as_xlsx([row(71, 姓名="韩立新"), row(72, 姓名="邓秀梅"), row(73, 姓名="罗建国")])
    created = client.post(
        "/api/transfers", data={"enterprise_id": enterprise}, files={"file": ("名册.xlsx", register)}, headers=clerk
    )
    assert created.status_code == 201, created.text
    batch = created.json()
    han, deng, luo = batch["items"]

    # The catalogue workbook arrives with the register; one bad row refuses the whole workbook.
    rows = [
        ("", han["citizen_id"], "1", "职工登记表", "1978.9", "", 2, ""),
        ("", han["citizen_id"], "9", "职工退休审批表", "2018年3月", 1, 2, ""),
        ("", deng["citizen_id"], "一", "干部履历表", "一九八二年五月", 1, 3, ""),
        ("", han["citizen_id"], "2", "自传", "1979", 1, 1, ""),
        ("", han["citizen_id"], "第九类", "招工登记表", "1978.8.15", 1, 1, ""),
    ]
    bad = rows + [("", "110102195801010000", "12", "", "78.9", 0, "x", "")]
    r = client.post(f"/api/transfers/{batch['id']}/catalogue", files={"file": ("目录.xlsx", sheet(bad))}, headers=clerk)
    assert r.status_code == 422 and r.json()["code"] == "catalogue.invalid"
    assert r.json()["problems"] == [
        {"row": 7, "column": "公民身份号码", "code": "catalogue.file_unknown",
         "message": "本批次名册中没有公民身份号码 110102195801010000"},
    ]  # fmt: skip
    bad = rows + [("", luo["citizen_id"], "12", "", "78.9", 0, "x", "")]
    r = client.post(f"/api/transfers/{batch['id']}/catalogue", files={"file": ("目录.xlsx", sheet(bad))}, headers=clerk)
    assert r.status_code == 422
    assert [(p["row"], p["column"]) for p in r.json()["problems"]] == [
        (7, "类号"), (7, "材料名称"), (7, "形成时间"), (7, "份数"), (7, "页数"),
    ]  # fmt: skip
    r = client.post(
        f"/api/transfers/{batch['id']}/catalogue", files={"file": ("目录.xlsx", sheet(rows))}, headers=clerk
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"files": 2, "catalogued": 0, "waiting_for_receipt": 2, "materials": 5}
    template = client.get("/api/transfers/catalogue-template.xlsx", headers=clerk)
    assert list(next(load_workbook(io.BytesIO(template.content)).active.iter_rows(values_only=True))) == list(
        CATALOGUE_HEADERS
    )

    # Receiving: the files become dossiers, the imported catalogues their first catalogue.
    ids = {}
    for item in (han, deng, luo):
        got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": item["citizen_id"]}, headers=clerk)
        assert got.status_code == 200, got.text
        ids[item["citizen_id"]] = got.json()["dossier_id"]
    han_id, deng_id, luo_id = ids[han["citizen_id"]], ids[deng["citizen_id"]], ids[luo["citizen_id"]]
    cat = client.get(f"/api/dossiers/{han_id}/catalogue", headers=clerk).json()
    assert [(m["sequence"], m["title"], m["date_formed"], m["pages"]) for m in cat["materials"]] == [
        ("1-1", "职工登记表", "197809", 2),
        ("2-1", "自传", "1979", 1),
        ("9-1", "招工登记表", "19780815", 1),  # numbered in date order within the class
        ("9-2", "职工退休审批表", "201803", 2),
    ]
    assert cat["editable"] and [r["source"] for r in cat["revisions"]] == ["imported"]
    # The register said 80+n pages; the catalogue says 6: a recorded discrepancy, not a silent overwrite.
    assert cat["revisions"][0]["note"] == "页数不符：原记 151 页，目录合计 6 页"
    assert "职工退休审批表" in cat["common_titles"]["9"] and "自传" in cat["common_titles"]["2"]

    # 罗建国's catalogue is typed: every problem at once, then saved; the archivist corrects one later.
    typed = [
        {"class_code": "1", "title": "职工登记表", "date_formed": "1980", "pages": 1},
        {"class_code": "9", "title": "职工退休审批表", "date_formed": "2019.12", "pages": 1},
    ]
    r = client.put(
        f"/api/dossiers/{luo_id}/catalogue",
        json={"materials": [*typed, {"class_code": "11", "title": "", "pages": "0", "first_page": 2}]},
        headers=clerk,
    )
    assert r.status_code == 422 and r.json()["field"] == "materials"
    assert [(p["row"], p["field"]) for p in r.json()["problems"]] == [
        (3, "class_code"), (3, "title"), (3, "pages"), (3, "last_page"),
    ]  # fmt: skip
    unknown = next(p for p in r.json()["problems"] if p["field"] == "class_code")["message"]
    assert "企业职工档案（劳力字〔1992〕33号）" in unknown and "enterprise-1992" not in unknown  # the scheme's name
    assert client.get(f"/api/dossiers/{luo_id}/catalogue", headers=clerk).json()["materials"] == []  # nothing kept
    assert client.put(f"/api/dossiers/{luo_id}/catalogue", json={"materials": typed}, headers=clerk).status_code == 200
    # Closing the batch ends the clerk's part; the archivist carries on.
    client.post(
        f"/api/transfers/{batch['id']}/confirm", json={"side": "sender", "sender_name": "刘移交"}, headers=clerk
    )
    # The files came on paper only: the bureau confirms with its reason (000 §三(二)2, 002 第九条(四)).
    r = client.post(f"/api/transfers/{batch['id']}/confirm", json={"side": "receiver"}, headers=clerk)
    assert (r.status_code, r.json()["field"]) == (422, "paper_reason") and "3 份档案尚未数字化" in r.json()["message"]
    paper = {"side": "receiver", "paper_reason": "企业无扫描条件，本馆接收后数字化"}
    assert client.post(f"/api/transfers/{batch['id']}/confirm", json=paper, headers=clerk).status_code == 200
    waiting = client.get("/api/digitisation/backlog", headers=archivist).json()
    ours = {e["enterprise"]: e["files"] for e in waiting["by_enterprise"]}
    assert ours["北京新华纺织机械厂"] == 3
    r = client.put(f"/api/dossiers/{luo_id}/catalogue", json={"materials": typed}, headers=clerk)
    assert r.status_code == 403
    assert client.get(f"/api/dossiers/{luo_id}/catalogue", headers=login("dongcheng")).status_code == 404

    # A scan at 150 dpi is refused at upload (its header says so), naming the file as the archivist named it;
    # no job is queued for it.
    low = tmp_path / "罗建国第一页.png"
    Image.new("L", (1240, 1754), 245).save(low, dpi=(150, 150))
    jobs_before = client.get("/api/jobs", headers=archivist).json()
    refused = client.post(
        f"/api/dossiers/{luo_id}/digitisation",
        files=[("scans", (low.name, low.read_bytes(), "image/png"))],
        headers=archivist,
    )
    assert refused.status_code == 422, refused.text
    said = refused.json()
    assert said["field"] == "scans" and "低于最低要求" in said["message"] and "罗建国第一页.png" in said["message"]
    assert client.get("/api/jobs", headers=archivist).json() == jobs_before

    # Digitise 韩立新's file from scans made here: six pages, one per catalogue page, each marked.
    scans = marked_scans(tmp_path, 6)
    job = client.post(
        f"/api/dossiers/{han_id}/digitisation",
        files=[("scans", (p.name, p.read_bytes(), "image/png")) for p in scans],
        headers=archivist,
    )
    assert job.status_code == 202, job.text
    outcome = runner.run_next(db.get_engine(), open_store(get_settings()), "test-worker", HANDLERS)
    state = client.get(f"/api/jobs/{job.json()['id']}", headers=archivist).json()
    assert outcome is not None and state["state"] == "done", state["error"]
    # Digitised, the file leaves the backlog; the other two wait on.
    after = client.get("/api/digitisation/backlog", headers=archivist).json()
    assert {e["enterprise"]: e["files"] for e in after["by_enterprise"]}["北京新华纺织机械厂"] == 2
    assert after["files"] == waiting["files"] - 1
    linked = client.get(f"/api/dossiers/{han_id}/catalogue", headers=archivist).json()["materials"]
    assert [(m["sequence"], m["first_page"], m["last_page"]) for m in linked] == [
        ("1-1", 1, 2), ("2-1", 3, 3), ("9-1", 4, 4), ("9-2", 5, 6),
    ]  # fmt: skip

    # Shelve the new files.
    placed = client.post("/api/shelving/assign", json={"dossier_ids": [han_id, deng_id, luo_id]}, headers=archivist)
    assert placed.status_code == 200, placed.text

    # A request for 罗建国's file, catalogued but not digitised: the approver is told it would serve nothing.
    luo_code = client.get(f"/api/dossiers/{luo_id}", headers=archivist).json()["archival_code"]
    form = {"dossier": luo_code, "purpose": "benefit_change", "purpose_detail": "待遇变更", "material_classes": [1, 9],
            "mode": "online_view", "valid_from": bureau_today().isoformat(),
            "valid_until": (bureau_today() + timedelta(days=6)).isoformat(), "reader_name": "李社保",
            "reader_citizen_id": READER, "relationship": "none"}  # fmt: skip
    waiting = client.post("/api/requests", json=form, headers=login("sibao")).json()
    screen = client.get(f"/requests/{waiting['id']}", headers=login("approver")).text
    assert 'id="unservable"' in screen and "第一类、第九类没有可提供的数字化页面" in screen
    assert screen.count("无数字化页面") == 2

    # A 待遇变更 request for classes 1 and 9: the requester sees pages 1, 2, 4, 5, 6 and nothing else.
    code = client.get(f"/api/dossiers/{han_id}", headers=archivist).json()["archival_code"]
    request = ask(client, login, code, "online_view")
    rid = request["id"]
    assert request["approved_pages"] == [1, 2, 4, 5, 6]
    screen = client.get(f"/requests/{rid}", headers=login("approver")).text
    assert 'id="unservable"' not in screen
    # Before deciding, the approver sees whose file it is and how many pages each class asked for would serve.
    asked = screen[screen.index('id="class-pages"') : screen.index("</dd>", screen.index('id="class-pages"'))]
    assert sum(int(n) for n in re.findall(r"数字化 (\d+) 页", asked)) == 5 and 'id="retiree-name"' in screen
    assert 'id="retiree-name"' not in client.get(f"/requests/{rid}", headers=login("sibao")).text
    sources = [Image.open(p) for p in scans]
    for page in (1, 2, 4, 5, 6):
        shown = client.get(f"/api/requests/{rid}/pages/{page}", headers=login("sibao"))
        assert shown.status_code == 200
        image = Image.open(io.BytesIO(shown.content))
        # It is that page (its bar where that scan has it), not another one and not a negative.
        assert likeness(image, sources[page - 1]).alike
        assert not likeness(image, sources[(page % 6)]).alike
        rgb = np.asarray(image.convert("RGB")).astype(int)
        assert int(((rgb[..., 0] > 150) & (rgb[..., 1] < 120) & (rgb[..., 2] < 120)).sum()) > 500  # watermarked
    assert client.get(f"/api/requests/{rid}/pages/3", headers=login("sibao")).status_code == 403  # 自传, class 2

    # A certified copy for the same classes holds exactly those pages after its certification page.
    copy_request = ask(client, login, code, "certified_copy")
    copy = client.post(
        f"/api/requests/{copy_request['id']}/certified-copy", json={"annotation": "与原件核对无误"}, headers=archivist
    )
    assert copy.status_code == 200, copy.text
    with pikepdf.open(io.BytesIO(copy.content)) as pdf:
        assert len(pdf.pages) == 1 + 5

    # The auditor finds every step: custody (received, shelved), the catalogue revisions, the access log.
    auditor = login("auditor")
    history = client.get(f"/api/dossiers/{han_id}", headers=auditor).json()["custody"]
    assert [e["kind"] for e in history] == ["received", "shelved"]
    revisions = client.get(f"/api/dossiers/{luo_id}/catalogue", headers=auditor).json()["revisions"]
    assert [(r["source"], r["entries_after"]) for r in revisions] == [("typed", 2)]
    log = load_workbook(
        io.BytesIO(client.get("/api/audit/log.xlsx", params={"archival_code": code}, headers=auditor).content)
    ).active
    steps = [(r[6], r[9], r[10]) for r in log.iter_rows(min_row=2, values_only=True)]  # 操作, 页码, 申请编号
    views = [pages for action, pages, number in steps if number == request["number"] and pages]
    assert sorted(views) == ["1", "2", "4", "5", "6"], steps  # each page the requester saw, once
    rows = list(log.iter_rows(min_row=2, values_only=True))
    seen_page_1 = next(r for r in rows if r[10] == request["number"] and r[9] == "1")
    assert seen_page_1[3] == "查阅申请人" and seen_page_1[8] == "1-1 职工登记表"  # Chinese, and the material's title
    assert sum(1 for _, _, number in steps if number == copy_request["number"]) >= 2, steps  # approved, copied


def test_a_digitised_files_catalogue_is_corrected_and_its_pages_linked_again_without_ocr(client, login, digitised):
    archivist = login("archivist")
    before = client.get(f"/api/dossiers/{digitised.id}/catalogue", headers=archivist).json()
    materials = before["materials"]
    assert materials and all(m["first_page"] for m in materials)
    # A catalogued file's page does not fetch the proposal (a read from the store) unless asked for.
    assert 'id="proposal"' not in client.get(f"/dossiers/{digitised.id}", headers=archivist).text
    assert 'id="show-proposal"' in client.get(f"/dossiers/{digitised.id}", headers=archivist).text
    shown = client.get(f"/dossiers/{digitised.id}?proposal=show", headers=archivist).text
    assert 'id="proposal"' in shown and 'id="use-proposal"' in shown
    # Merge the first two entries' pages into the first (the second was a continuation sheet).
    rows = [
        {"id": m["id"], "class_code": m["class_code"], "title": m["title"], "date_formed": m["date_formed"],
         "copies": m["copies"], "pages": m["pages"], "remarks": m["remarks"]}
        for m in materials
    ]  # fmt: skip
    rows[0]["pages"] += rows[1]["pages"]
    rows[0]["remarks"] = "含续页"
    del rows[1]
    r = client.put(f"/api/dossiers/{digitised.id}/catalogue", json={"materials": rows}, headers=archivist)
    assert r.status_code == 200, r.text
    after = r.json()["materials"]
    assert after[0]["sequence"] == materials[0]["sequence"]  # an entry kept keeps its number
    assert after[0]["first_page"] == 1 and after[0]["last_page"] == materials[1]["last_page"]
    assert all(a["last_page"] + 1 == b["first_page"] for a, b in zip(after, after[1:], strict=False))
    assert r.json()["revisions"][-1]["entries_before"] == len(materials)
    # A total that no longer matches the copy is refused, naming the rule; nothing changes.
    rows[0]["pages"] += 1
    r = client.put(f"/api/dossiers/{digitised.id}/catalogue", json={"materials": rows}, headers=archivist)
    assert r.status_code == 422 and r.json()["problems"][0]["code"] == "page_count.mismatch"
    assert client.get(f"/api/dossiers/{digitised.id}/catalogue", headers=archivist).json()["materials"] == after
    # Revisions are evidence: the database refuses to change one.
    from archive_service.dossiers.models import CatalogueRevision

    with db.get_sessionmaker()() as session:
        revision = session.scalars(select(CatalogueRevision)).first()
        revision.note = "改写"
        try:
            session.commit()
            raised = False
        except Exception:
            raised = True
    assert raised


def _outline(pdf: bytes) -> list[tuple[str, list[str]]]:
    with pikepdf.open(io.BytesIO(pdf)) as doc, doc.open_outline() as outline:
        return [(group.title, [item.title for item in group.children]) for group in outline.root]


def test_a_catalogue_change_reaches_the_requester_and_the_copys_bookmarks_at_once(client, login, digitised):
    """Pages belong to materials through the catalogue, and a request grants materials by class: when the
    archivist moves a material to another class, a requester granted the old class no longer sees its pages
    (the server kept each request's page map per use copy, and a catalogue change made no new copy), and
    the use copy's bookmarks name the catalogue as it now is — same pages, no OCR."""
    from tests.archive_service.test_requests import approved

    archivist, sibao = login("archivist"), login("sibao")
    granted = approved(client, login, digitised, material_classes=[9])
    page = granted["approved_pages"][0]
    assert client.get(f"/api/requests/{granted['id']}/pages/{page}", headers=sibao).status_code == 200
    copy_before = client.get(f"/dossiers/{digitised.id}/copy.pdf", headers=archivist).content
    materials = client.get(f"/api/dossiers/{digitised.id}/catalogue", headers=archivist).json()["materials"]
    moved = next(m for m in materials if m["class_code"] == "9" and m["first_page"] <= page <= m["last_page"])
    rows = [
        {"id": m["id"], "class_code": "4" if m is moved else m["class_code"], "title": m["title"],
         "date_formed": m["date_formed"], "copies": m["copies"], "pages": m["pages"], "remarks": m["remarks"]}
        for m in materials
    ]  # fmt: skip
    r = client.put(f"/api/dossiers/{digitised.id}/catalogue", json={"materials": rows}, headers=archivist)
    assert r.status_code == 200, r.text
    now = next(m for m in r.json()["materials"] if m["id"] == moved["id"])
    assert now["class_code"] == "4"
    assert (now["first_page"], now["last_page"]) == (moved["first_page"], moved["last_page"])

    refused = client.get(f"/api/requests/{granted['id']}/pages/{page}", headers=sibao)
    assert refused.status_code == 403 and refused.json()["code"] == "page.not_approved"

    copy_after = client.get(f"/dossiers/{digitised.id}/copy.pdf", headers=archivist).content
    groups = dict(_outline(copy_after))
    title = f"{now['sequence']} {now['title']}"
    assert any(g.startswith("第四类") and title in items for g, items in groups.items()), groups
    assert not any(f"{moved['sequence']} {moved['title']}" in items for items in groups.values())
    assert _outline(copy_before) != _outline(copy_after)
    # The same pages, byte for byte: only the bookmarks and the description changed.
    with pikepdf.open(io.BytesIO(copy_before)) as a, pikepdf.open(io.BytesIO(copy_after)) as b:
        assert len(a.pages) == len(b.pages)
        for pa, pb in zip(a.pages, b.pages, strict=True):
            assert pa.Contents.read_bytes() == pb.Contents.read_bytes()
            images = [[i.read_raw_bytes() for _, i in p.images.items()] for p in (pa, pb)]
            assert images[0] == images[1]
        assert str(b.open_metadata().get("dc:description", "")).find(now["title"]) >= 0
        assert str(b.open_metadata()["xmp:ModifyDate"]).endswith("+08:00")  # the bureau's time, not the server's
    # ... and they still look like the scans (the copy is rendered, not only parsed).
    found = likeness(render(copy_after)[page - 1], Image.open(blank_scans(1)[0]))
    assert found.alike, found


@pytest.mark.ocr
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # OCR-bound; the path test runs both databases
def test_a_file_without_a_catalogue_is_catalogued_from_the_proposal_of_its_pages(client, login, tmp_path):
    """Stock entered with no 卷内目录, digitised from pages drawn here with known forms: the proposal
    names each material, the archivist accepts it, and a request for class 9 then serves its pages."""
    archivist = login("archivist")
    rng = random.Random(31)
    who = person(rng)
    enterprise = [o for o in client.get("/api/organisations", headers=archivist).json() if o["kind"] == "enterprise"][0]
    r = client.post(
        "/api/dossiers",
        json={"retiree": {"name": who.name, "sex": who.sex, "citizen_id": who.citizen_id,
                          "birth_date": who.birth_date.isoformat(), "enterprise_id": enterprise["id"],
                          "hukou_region_code": XICHENG, "residence_region_code": XICHENG}},
        headers=archivist,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    dossier = r.json()
    pages = [
        draw_page(rng, who, seal=False, lines=5, title="职工登记表"),
        draw_page(rng, who, blank=True),
        draw_page(rng, who, lines=5, title="退休审批表"),
        draw_page(rng, who, seal=False, lines=4, title="自传"),
    ]
    scans = [save_scan(p, tmp_path / f"scan-{n}.tif") for n, p in enumerate(pages, start=1)]
    job = client.post(
        f"/api/dossiers/{dossier['id']}/digitisation",
        files=[("scans", (p.name, p.read_bytes(), "image/tiff")) for p in scans],
        headers=archivist,
    )
    assert job.status_code == 202, job.text
    runner.run_next(db.get_engine(), open_store(get_settings()), "test-worker", HANDLERS)
    state = client.get(f"/api/jobs/{job.json()['id']}", headers=archivist).json()
    assert state["state"] == "done", state["error"]

    # Digitised without a catalogue: said on the dossier page, not "全部通过".
    page = client.get(f"/dossiers/{dossier['id']}", headers=archivist).text
    assert "档案尚无卷内目录" in page and "全部通过" not in page
    # The proposal sits beside its pages: the first and last page of each material, each like its scan.
    thumbs = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)" alt="第 (\d+) 页"', page.split('id="proposal"')[1])
    assert sorted(int(n) for _, n in thumbs) == [1, 2, 3, 4]
    for data, n in thumbs:
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert image.width == 150
        assert likeness(image, pages[int(n) - 1].image).alike, n
        inner = np.asarray(image.convert("L"))[20:-20, 15:-15]  # inside the scanner lid's frame
        ink = (inner < 200).mean()  # print goes grey at this size
        assert (ink < 0.001) == pages[int(n) - 1].blank, (n, ink)  # the blank back blank, the forms printed
    code = dossier["archival_code"]
    log = client.get("/api/audit/log.xlsx", params={"archival_code": code}, headers=login("auditor"))
    details = [str(r) for r in load_workbook(io.BytesIO(log.content)).active.iter_rows(min_row=2, values_only=True)]
    assert any("目录建议缩略图 4 页" in d for d in details), details  # seeing them is on the access log
    found = client.get(f"/api/dossiers/{dossier['id']}/catalogue", headers=archivist).json()
    assert found["materials"] == []  # nothing enters the catalogue unconfirmed
    assert [(m["class_code"], m["title"], m["first_page"], m["last_page"]) for m in found["proposed"]] == [
        ("1", "职工登记表", "1", "2"), ("9", "退休审批表", "3", "3"), ("2", "自传", "4", "4"),
    ]  # fmt: skip
    saved = client.put(
        f"/api/dossiers/{dossier['id']}/catalogue",
        json={"materials": found["proposed"], "source": "proposal"},
        headers=archivist,
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert [(m["sequence"], m["title"], m["first_page"], m["last_page"]) for m in body["materials"]] == [
        ("1-1", "职工登记表", 1, 2), ("2-1", "自传", 4, 4), ("9-1", "退休审批表", 3, 3),
    ]  # fmt: skip
    assert [r["source"] for r in body["revisions"]] == ["proposal"]
    request = ask(client, login, dossier["archival_code"], "online_view")
    assert request["approved_pages"] == [1, 2, 3]  # class 1 (with its blank back) and class 9
