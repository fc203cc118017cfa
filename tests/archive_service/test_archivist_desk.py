"""The archivist's small annoyances with a newly received file (issue 36), walked with a register, scans and
a catalogue the test makes: the 尚无卷内目录 warning goes once the catalogue is saved, the proposal's
"（未识别的材料）" is not a title, pages out of catalogue order are called that, class lists run 1…10."""

import io
import random
import re
import subprocess

import numpy as np
import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from archive_service import adapters, db
from archive_service.access.models import AccessLogEntry
from archive_service.config import get_settings
from archive_service.digitisation.service import digitise_dossier, findings_of, latest_use_copy
from archive_service.dossiers import catalogue
from archive_service.dossiers.models import Dossier
from archive_service.jobs import runner
from archive_service.jobs.kinds import HANDLERS
from archive_service.jobs.models import Job, JobState
from archive_service.transfers import onward, receiving
from archive_service.transfers import service as transfers
from digitise.specimen import draw_page, person, save_scan
from tests.archive_service.conftest import blank_scans
from tests.archive_service.test_forms_keep_values import _cookie_login
from tests.archive_service.test_transfers import enterprise, error_of, new_batch, row, user


def test_a_new_files_catalogue_clears_the_warning_and_pages_out_of_order_are_named(engine, client, tmp_path):
    store = adapters.open_store(get_settings())
    with db.transaction() as session:
        batch = new_batch(session, [row(51, 页数=3, 材料份数=2)])
        item = receiving.receive(session, user(session, "clerk"), batch.id, receiving.Check("#51"))
        dossier = session.get(Dossier, item.dossier_id)
        outcome = digitise_dossier(session, store, user(session, "archivist"), dossier, blank_scans(3), jobs=1)
        assert outcome.ok, outcome.report
        dossier_id, batch_id = dossier.id, batch.id
        assert "catalogue.empty" in {f.code for f in findings_of(latest_use_copy(session, dossier))}

    _cookie_login(client, "archivist")
    page = client.get(f"/dossiers/{dossier_id}").text
    assert 'data-code="catalogue.empty"' in page
    chooser = page[page.index('aria-label="缺失材料类别"') :]
    listed = re.findall(r'<option value="([\d-]+)"', chooser[: chooser.index("</select>")])
    assert listed[:10] == [str(n) for n in range(1, 11)]  # 1, 2 … 10 — not 1, 10, 2

    with db.transaction() as session:
        archivist, dossier = user(session, "archivist"), session.get(Dossier, dossier_id)
        registration = {"class_code": "1", "title": "职工登记表", "date_formed": "1978", "pages": 2}
        unnamed = {"class_code": "4", "title": "（未识别的材料）", "pages": 1}
        refused = error_of(
            lambda: catalogue.save_catalogue(session, store, archivist, dossier, [registration, unnamed])
        )
        assert [(p["row"], p["field"], p["code"]) for p in refused.problems] == [(2, "title", "title.unrecognised")]
        # The school record lies first in the folder, though the catalogue puts class 1 before class 4.
        school = {**unnamed, "title": "学历证明材料", "first_page": 1, "last_page": 1}
        catalogue.save_catalogue(
            session, store, archivist, dossier, [{**registration, "first_page": 2, "last_page": 3}, school]
        )
    page = client.get(f"/dossiers/{dossier_id}").text
    assert 'data-code="catalogue.empty"' not in page and "尚无卷内目录" not in page

    with db.transaction() as session:
        record = transfers.start_acceptance(session, store, user(session, "archivist"), batch_id)
        said = [f["message"] for f in record["machine"]["failures"] if f["check"] == "counts"]
    # Scanning again: a 150 dpi scan is refused at the counter, as its header says; two pages for a catalogue
    # of three fail in the job, and the dossier page says so (the copy in use stays).
    page = draw_page(random.Random(5), person(random.Random(5)), blank=True, dpi=150, noise=0)
    low = save_scan(page, tmp_path / "扫描150.tif")
    refused = client.post(f"/dossiers/{dossier_id}/digitise", files=[("scans", (low.name, low.read_bytes()))])
    assert refused.status_code == 422 and "扫描150.tif：扫描分辨率 150 dpi，低于最低要求 200 dpi" in refused.text
    with db.transaction() as session:
        assert session.scalars(select(Job).where(Job.dossier_id == dossier_id)).all() == []
    two = [("scans", (p.name, p.read_bytes())) for p in blank_scans(2)]
    assert client.post(f"/dossiers/{dossier_id}/digitise", files=two, follow_redirects=False).status_code == 303
    assert runner.run_next(db.get_engine(), store, "test-worker", HANDLERS).state is JobState.failed
    shown = client.get(f"/dossiers/{dossier_id}").text
    failed = shown[shown.index('id="digitisation-failed"') :]
    failed = failed[: failed.index("</div>")]
    assert "上次数字化未成功" in failed and "质检未通过" in failed and "未被替换" in failed
    assert said == [
        "页面顺序与目录顺序不符：第 1 页起是目录第 4-1 条，按目录它应在目录第 1-1 条（第 2–3 页）之后；"
        "请按目录顺序调整页面，或更正起止页"
    ]


def test_a_gap_in_the_linked_pages_is_named_as_pages_of_no_entry():
    from types import SimpleNamespace as Entry

    from archive_service.transfers.acceptance import _out_of_line

    first = Entry(sequence="1-1", first_page=1, last_page=2)
    after_gap = Entry(sequence="2-1", first_page=5, last_page=5)
    assert _out_of_line(after_gap, first, [first, after_gap], 3) == (  # type: ignore[arg-type]
        "第 3–4 页不属于任何目录条目（目录第 1-1 条之后、目录第 2-1 条（第 5 页）之前）"
    )


def test_the_receipt_of_a_transfer_between_bureaus_is_titled_as_one_and_gives_its_reason(engine, demo, tmp_path):
    with db.transaction() as session:
        clerk, archivist, dongcheng = (user(session, n) for n in ("clerk", "archivist", "dongcheng"))
        batch = new_batch(session, [row(61, 姓名="冯迁居")])
        item = receiving.receive(session, clerk, batch.id, receiving.Check("#61"))
        transfers.confirm(session, clerk, batch.id, "sender", sender_name="刘移交")
        transfers.confirm(session, clerk, batch.id, "receiver", paper_reason="企业无扫描设备，由本馆数字化")
        code = session.get(Dossier, item.dossier_id).archival_code
        sent = onward.send_onward(session, archivist, dongcheng.organisation_id, [code], "户籍迁至东城区和平里街道")
        receiving.receive(session, dongcheng, sent.id, receiving.Check(code))
        transfers.confirm(session, archivist, sent.id, "sender")
        transfers.confirm(session, dongcheng, sent.id, "receiver")
        pdf = transfers.receipt(session, archivist, sent.id)
        assert transfers.verify_receipt(session, pdf, archivist).ok  # the reason beside the manifest, not in it
    (tmp_path / "receipt.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "receipt.pdf"), "-"], capture_output=True, check=True).stdout
    said = text.decode()
    assert "退休人员人事档案转递交接书" in said and "移交交接书" not in said and "移交单位" not in said
    assert "转递原因：户籍迁至东城区和平里街道" in said and "转出馆：北京市西城区档案馆" in said
    assert "转出方确认" in said and "数字化成果验收" not in said and "冯迁居" in said


def test_the_forecast_continues_intake_past_the_last_projected_year_and_says_so(engine, client, login):
    """Retirements entered to 2029 and a plan to 2032: 2030–2032 take the mean of the last three projected
    years, each marked 推算 on the page and in the export, and the page says how the years are counted."""
    from archive_service.shelving.planning import ForecastInputs, forecast, presets

    inputs = ForecastInputs(2027, 6, 100, 100, projected_files={2027: 100, 2028: 400, 2029: 700})
    result = forecast(inputs, presets()["national"])
    assert [(r.year, r.intake_files, r.intake_estimated) for r in result.rows] == [
        (2027, 100, False), (2028, 400, False), (2029, 700, False),
        (2030, 400, True), (2031, 400, True), (2032, 400, True),
    ]  # fmt: skip
    assert result.intake_basis == (
        "企业预计退休人数录入至 2029 年；2030 年起按 2027–2029 年的平均值每年 400 人推算（表中标“推算”）"
    )
    none = forecast(ForecastInputs(2027, 3, 100, 100), presets()["national"])
    assert [r.intake_files for r in none.rows] == [0, 0, 0] and none.intake_basis.startswith("未录入企业预计退休人数")

    _cookie_login(client, "archivist")
    r = client.post("/planning/projections", data={"enterprise_id": "", "year": "2040", "retirees": "9"})
    assert r.status_code == 422 and "请选择企业" in r.text
    with db.transaction() as session:
        enterprise_id = enterprise(session, 4).id
    for year, n in ((2045, 30), (2046, 60)):
        r = client.post("/planning/projections", data={"enterprise_id": enterprise_id, "year": year, "retirees": n})
        assert r.status_code in (200, 303), r.text[:300]
    figures = client.get("/api/shelving/forecast?start_year=2040&years=10", headers=login("archivist")).json()
    after = [row for row in figures["rows"] if row["year"] > 2046]
    assert after and all(row["intake_estimated"] for row in after)
    assert "录入至 2046 年；2047 年起按" in figures["intake_basis"]
    page = client.get("/planning?start_year=2040&years=10").text
    basis = page[page.index('id="intake-basis"') :]
    assert "2047 年起按" in basis[: basis.index("</p>")]
    table = page[page.index('id="forecast-table"') :]
    assert table.count('class="estimated"') == len(after)
    export = load_workbook(io.BytesIO(client.get("/api/shelving/forecast.xlsx?start_year=2040&years=10").content))
    assert export.active["K2"].value == "当年接收人数来源"
    assert [c.value for c in export.active["K"]][2:12].count("推算") == len(after)


def _received_and_digitised(session, store, n: int, name: str) -> Dossier:
    """A new register's file, received, digitised (three blank sheets) and catalogued: classes 1 and 9."""
    batch = new_batch(session, [row(n, 姓名=name, 页数=3, 材料份数=2)])
    item = receiving.receive(session, user(session, "clerk"), batch.id, receiving.Check(f"#{n}"))
    dossier = session.get(Dossier, item.dossier_id)
    archivist = user(session, "archivist")
    assert digitise_dossier(session, store, archivist, dossier, blank_scans(3), jobs=1).ok
    rows = [
        {"class_code": "1", "title": "职工登记表", "pages": 2, "first_page": 1, "last_page": 2},
        {"class_code": "9", "title": "职工退休审批表", "pages": 1, "first_page": 3, "last_page": 3},
    ]
    catalogue.save_catalogue(session, store, archivist, dossier, rows)
    return dossier


def test_a_certified_copy_is_sealed_and_numbered_on_every_page_and_requests_reach_banjie(
    engine, client, login, tmp_path
):
    from tests.archive_service.test_requests import form

    store = adapters.open_store(get_settings())
    with db.transaction() as session:
        dossier = _received_and_digitised(session, store, 81, "卫复制")
    asked = client.post(
        "/api/requests", json=form(dossier, purpose="notarisation", mode="certified_copy"), headers=login("sibao")
    )
    rid = asked.json()["id"]
    approved = client.post(f"/api/requests/{rid}/decision", json={"approve": True}, headers=login("approver"))
    assert approved.json()["approved_pages"] == [1, 2, 3]
    early = client.post(f"/api/requests/{rid}/close", json={}, headers=login("archivist"))
    assert early.status_code == 422 and "尚未出具复制件" in early.json()["message"]

    _cookie_login(client, "archivist")
    pdf = client.post(f"/requests/{rid}/copy", data={"annotation": "经核对，与档案原件一致"})
    assert pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "copy.pdf").write_bytes(pdf.content)
    subprocess.run(["pdftoppm", "-r", "100", "-png", str(tmp_path / "copy.pdf"), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 4  # the certification page, then the three copied pages
    for n, path in enumerate(pages[1:], start=1):
        page = Image.open(path).convert("RGB")
        w, h = page.size

        def seal_red(box: tuple[int, int, int, int], page: Image.Image = page) -> int:
            pixels = np.asarray(page.crop(box)).astype(int)
            return int(((pixels[..., 0] > 150) & (pixels[..., 1] < 120) & (pixels[..., 2] < 120)).sum())

        # The seal's ring and star in seal red, over the lower right; the watermark elsewhere is a pale pink.
        seal, elsewhere = (
            seal_red((int(w * 0.72), int(h * 0.80), w, int(h * 0.97))),
            seal_red((int(w * 0.72), int(h * 0.1), w, int(h * 0.27))),
        )
        assert seal > 300 and seal > 10 * elsewhere, (n, seal, elsewhere)
        number = page.crop((int(w * 0.55), h - 22, w, h)).resize((int(w * 0.45) * 3, 66))
        number.save(tmp_path / f"number-{n}.png")
        read = subprocess.run(
            ["tesseract", str(tmp_path / f"number-{n}.png"), "-", "-l", "chi_sim", "--psm", "7"],
            capture_output=True, text=True, check=True,
        ).stdout.replace(" ", "")  # fmt: skip
        assert f"第{n}页" in read and "共3页" in read, read

    r = client.post(f"/requests/{rid}/close", data={"note": "复制件已交申请人"}, follow_redirects=False)
    assert r.status_code == 303
    shown = client.get(f"/requests/{rid}").text
    closed = shown[shown.index('id="closed"') :]
    assert "已办结" in shown and "已出具复制件 1 份" in closed[: closed.index("</dd>")] and "复制件已交申请人" in closed
    again = client.post(f"/requests/{rid}/close", data={"note": "再次"})
    assert again.status_code == 409 and "已办结，不能办结" in again.text
    again_copy = client.post(f"/requests/{rid}/copy", data={"annotation": "经核对"})
    assert again_copy.status_code == 409
    with db.transaction() as session:
        entry = session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.request_id == rid, AccessLogEntry.action == "close_request")
        ).one()
        assert entry.user_id == user(session, "archivist").id and "复制件已交申请人" in entry.detail

    online = client.post("/api/requests", json=form(dossier), headers=login("sibao")).json()["id"]
    client.post(f"/api/requests/{online}/decision", json={"approve": True}, headers=login("approver"))
    assert client.get(f"/api/requests/{online}/pages/1", headers=login("sibao")).status_code == 200
    assert (
        client.post(
            f"/api/requests/{online}/close", json={"note": "已核实完毕"}, headers=login("archivist")
        ).status_code
        == 200
    )
    refused = client.get(f"/api/requests/{online}/pages/1", headers=login("sibao"))
    assert refused.status_code == 403 and "已办结" in refused.json()["message"]
    assert client.post(f"/api/requests/{online}/close", json={}, headers=login("clerk")).status_code == 403


@pytest.mark.ocr  # Tesseract reads the certification pages back
def test_a_long_annotation_stays_inside_the_certification_pages_margins(engine, client, login, tmp_path):
    """Issue 40 (Low): a long 档案员注记 ran off the certification page. It is broken at the right margin and goes
    on to a second certification page; no ink outside the margins, and every part of it is on the pages."""
    from tests.archive_service.test_requests import form

    store = adapters.open_store(get_settings())
    with db.transaction() as session:
        dossier = _received_and_digitised(session, store, 82, "卫注记")
    rid = client.post(
        "/api/requests", json=form(dossier, purpose="notarisation", mode="certified_copy"), headers=login("sibao")
    ).json()["id"]
    client.post(f"/api/requests/{rid}/decision", json={"approve": True}, headers=login("approver"))
    markers = [f"M{n:02d}X" for n in range(1, 13)]
    annotation = "".join(f"{m}经核对本复制件与档案原件内容一致，页数齐全，字迹清楚，无涂改。" * 2 for m in markers)
    _cookie_login(client, "archivist")
    pdf = client.post(f"/requests/{rid}/copy", data={"annotation": annotation})
    assert pdf.headers["content-type"] == "application/pdf", pdf.text[:300]
    (tmp_path / "copy.pdf").write_bytes(pdf.content)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(tmp_path / "copy.pdf"), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 5  # two certification pages, then the three copied pages
    margin = round(120 / 3) - 3  # 120 px at 150 dpi, at 50 dpi, less antialiasing
    for path in pages[:2]:
        ink = np.asarray(Image.open(path).convert("L")) < 160
        columns = np.flatnonzero(ink.any(axis=0))
        assert columns.min() >= margin and columns.max() < ink.shape[1] - margin, (
            path.name,
            columns.min(),
            columns.max(),
        )
    read = ""
    for n in (1, 2):
        first_last = ["-f", str(n), "-l", str(n)]
        subprocess.run(
            ["pdftoppm", "-r", "150", *first_last, "-png", str(tmp_path / "copy.pdf"), tmp_path / f"r{n}"], check=True
        )
        image = next(tmp_path.glob(f"r{n}-*.png"))
        read += subprocess.run(
            ["tesseract", str(image), "-", "-l", "chi_sim+eng", "--psm", "6"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    read = re.sub(r"\s", "", read).replace("O", "0")  # a marker may be broken over two lines
    assert [m for m in markers if m not in read] == [], read
    assert read.count("档案复制件证明") == 2 and "经办档案员" in read and "档案馆印章" in read
