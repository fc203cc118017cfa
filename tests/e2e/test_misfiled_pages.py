"""A misfiled page in the browser (issue 36 item 6): a file the test registers and digitises itself, whose
third page is another person's form. The approver sees the flag on the request before approving; the
archivist takes the page out on the dossier page (a new use copy from the masters, the entry one page
shorter); the approver's screen no longer warns. Screenshots in tests/e2e/artifacts/misfiled-*.png."""

import random
import time
from datetime import timedelta

import pytest

from archive_service.db import bureau_today
from archive_service.demo import XICHENG
from digitise.specimen import citizen_id_for, draw_page, person, save_scan
from tests.e2e.conftest import bearer, serve, shot
from tests.e2e.test_requests import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The file is digitised by the test: a server of its own without the demo's scans."""
    yield from serve(tmp_path_factory, with_scans=False)


def _digitised_file_with_a_strangers_page(page, server, tmp_path) -> tuple[int, str]:
    """Registered through the API as an archivist enters an old holding, scans drawn here, digitised by the
    server's worker: 职工登记表 (1 page) and 工资调整审批表 (2 pages, the second another person's)."""
    archivist = bearer(page, server, "archivist")
    rng = random.Random(3606)
    own, stranger = person(rng), person(rng)
    enterprise = page.request.get(f"{server}/api/organisations/enterprises", headers=archivist).json()[0]["id"]
    materials = [
        {"class_code": "1", "title": "职工登记表", "date_formed": "19800512", "pages": 1},
        {"class_code": "9", "title": "工资调整审批表", "date_formed": "19900301", "pages": 2},
    ]
    retiree = {
        "name": own.name, "citizen_id": own.citizen_id, "sex": own.sex, "birth_date": own.birth_date.isoformat(),
        "enterprise_id": enterprise, "hukou_region_code": XICHENG, "residence_region_code": XICHENG,
    }  # fmt: skip
    made = page.request.post(
        f"{server}/api/dossiers", headers=archivist, data={"retiree": retiree, "materials": materials}
    )
    assert made.status == 201, made.text()
    dossier = made.json()
    drawn = [(own, "职工登记表"), (own, "工资调整审批表"), (stranger, "工资调整审批表")]
    scans = [
        save_scan(draw_page(rng, who, seal=False, lines=4, title=title), tmp_path / f"scan-{n + 1:03d}.tif")
        for n, (who, title) in enumerate(drawn)
    ]
    job = _upload(archivist, server, dossier["id"], scans)
    for _ in range(600):
        state = page.request.get(f"{server}/api/jobs/{job}", headers=archivist).json()
        if state["state"] in ("done", "failed"):
            break
        time.sleep(1)
    assert state["state"] == "done", state
    return dossier["id"], dossier["archival_code"]


def _upload(headers, server, dossier_id, scans) -> int:
    """Several files under one form field: Playwright's multipart takes one per name, so httpx sends them."""
    import httpx

    files = [("scans", (s.name, s.read_bytes(), "image/tiff")) for s in scans]
    r = httpx.post(f"{server}/api/dossiers/{dossier_id}/digitisation", headers=headers, files=files, timeout=120)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_the_approver_sees_the_flag_and_the_archivist_takes_the_page_out(page, server, tmp_path):
    dossier_id, code = _digitised_file_with_a_strangers_page(page, server, tmp_path)
    sibao = bearer(page, server, "sibao")
    asked = page.request.post(
        f"{server}/api/requests",
        headers=sibao,
        data={
            "dossier": code, "purpose": "benefit_change", "purpose_detail": "待遇变更，核对工资调整",
            "material_classes": [9], "mode": "online_view", "valid_from": bureau_today().isoformat(),
            "valid_until": (bureau_today() + timedelta(days=10)).isoformat(), "reader_name": "社保经办",
            "reader_citizen_id": citizen_id_for("110105", bureau_today().replace(year=1982), 7, "F"),
        },
    )  # fmt: skip
    assert asked.status == 201, asked.text()
    request_id = asked.json()["id"]

    sign_in(page, server, "approver")
    page.goto(f"{server}/requests/{request_id}")
    warning = page.locator("#misfiled-flags")
    assert "1 页被标记为“疑似他人材料”" in warning.inner_text() and "第 3 页" in warning.inner_text()
    assert page.get_by_role("button", name="批准").is_visible()  # seen before approving
    shot(page, "misfiled-approval")

    sign_in(page, server, "archivist")
    page.goto(f"{server}/dossiers/{dossier_id}#misfiled-pages")
    flag = page.locator("#misfiled-pages .flag[data-page='3']")
    assert "工资调整审批表" in flag.inner_text() and "1 页待核对" in page.locator("#misfiled-pages h2").inner_text()
    flag.get_by_label("他人材料，移出本卷").check()
    flag.get_by_label("理由").fill("系他人工资调整审批表，已转该人档案")
    shot(page, "misfiled-deciding")
    # A new use copy is made from the masters before the answer: the click itself waits for that navigation
    # too (up to its own timeout, 30 s by default, which a loaded machine exceeded), so both get the long one.
    with page.expect_navigation(timeout=600_000):
        flag.get_by_role("button", name="保存").click(timeout=600_000)
    section = page.locator("#misfiled-pages")
    assert "已全部处理" in section.inner_text()
    assert "已移出本卷（他人材料）" in section.locator("#misfiled-decisions").inner_text()
    assert "页数 2 → 1" in section.locator("#misfiled-decisions").inner_text()
    copy = page.locator("#digital-copy").inner_text()
    assert "2 页" in copy and "第 2 版" in copy
    shot(page, "misfiled-removed")

    sign_in(page, server, "approver")
    page.goto(f"{server}/requests/{request_id}")
    assert page.locator("#misfiled-flags").count() == 0
