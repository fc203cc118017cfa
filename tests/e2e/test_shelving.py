"""Store rooms in the browser: define a room and a unit, receive a batch, shelve it, watch the map change,
print its labels, run a forecast. Screenshots in tests/e2e/artifacts/shelving-*.png."""

from datetime import date

import pytest

from archive_service.demo import XICHENG, citizen_id
from tests.e2e.conftest import shot
from tests.e2e.test_requests import sign_in

pytestmark = pytest.mark.e2e


def receive_batch(page, server, count: int) -> list[dict]:
    """Files of one enterprise entered into custody through the API, as the intake desk does."""
    orgs = page.request.get(f"{server}/api/organisations").json()
    enterprise = [o for o in orgs if o["kind"] == "enterprise"][1]
    received = []
    for i in range(count):
        born = date(1962, 3, 1 + i)
        body = {
            "retiree": {
                "name": f"新收{i + 1}",
                "citizen_id": citizen_id(XICHENG, born, 600 + i, "M"),
                "sex": "M",
                "birth_date": born.isoformat(),
                "enterprise_id": enterprise["id"],
                "hukou_region_code": XICHENG,
                "residence_region_code": XICHENG,
            }
        }
        r = page.request.post(f"{server}/api/dossiers", data=body)
        assert r.status == 201, r.text()
        received.append(r.json())
    return received


def test_define_a_room_receive_shelve_and_forecast(page, server):
    sign_in(page, server, "archivist")
    assert page.locator("#climate-alert").count() == 1  # the demo's humid afternoon is on the dashboard
    page.goto(f"{server}/shelving")
    assert page.locator("#waiting h2").inner_text().endswith("0 份")

    room_form = page.locator("form[action='/shelving/rooms']")
    room_form.get_by_label("名称").fill("三号库房")
    room_form.get_by_label("使用面积（m²）").fill("20")
    with page.expect_navigation():
        room_form.get_by_role("button", name="新建").click()
    assert "已新建库房：三号库房" in page.locator(".notice").inner_text()

    unit_form = page.locator("#unit-form")
    unit_form.get_by_label("库房").select_option(label="三号库房")
    unit_form.get_by_label("编号").fill("C01")
    unit_form.get_by_label("列数").fill("1")
    unit_form.get_by_label("每列节数").fill("2")
    unit_form.get_by_label("每节层数").fill("3")
    unit_form.get_by_label("面数").select_option("1")
    unit_form.get_by_label("或直接设定每层容量（卷）").fill("2")
    with page.expect_navigation():
        unit_form.get_by_role("button", name="新增").click()
    assert "已新增密集架 C01（6 层位）" in page.locator(".notice").inner_text()
    room = page.locator("section.room[data-room='三号库房']")
    cells = room.locator("td[data-slot]")
    assert cells.count() == 6 and room.locator("td.fill-0").count() == 6
    assert room.locator(".room-used").inner_text() == "0"

    # A wrong figure comes back with the rule, and nothing is created.
    unit_form = page.locator("#unit-form")
    unit_form.get_by_label("库房").select_option(label="三号库房")
    unit_form.get_by_label("编号").fill("C02")
    unit_form.get_by_label("每节层数").fill("20")
    with page.expect_navigation():
        unit_form.get_by_role("button", name="新增").click()
    assert "每节层数须在 1–12 之间，实为 20" in page.get_by_role("alert").inner_text()
    assert page.locator("figure[data-unit='C02']").count() == 0

    files = receive_batch(page, server, 3)
    page.goto(f"{server}/shelving")
    assert page.locator("#waiting h2").inner_text().endswith("3 份")
    shot(page, "shelving-before")
    page.get_by_label("上架库房").select_option(label="三号库房（余 12 卷位）")
    with page.expect_navigation():
        page.locator("#auto-assign").click()
    rows = page.locator("#placements tbody tr")
    assert rows.count() == 3
    assert all("三号库房 C01架 1列 1节" in rows.nth(i).inner_text() for i in range(3))
    pdf = page.request.post(f"{server}/api/shelving/labels", data={"dossier_ids": [f["id"] for f in files]})
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"

    page.goto(f"{server}/shelving")
    room = page.locator("section.room[data-room='三号库房']")
    assert room.locator(".room-used").inner_text() == "3"
    by_code = {
        c.get_attribute("data-slot"): int(c.get_attribute("data-used")) for c in room.locator("td[data-slot]").all()
    }
    assert [by_code[code] for code in sorted(by_code)] == [2, 1, 0, 0, 0, 0]  # in shelf order: top layer full, the next
    assert room.locator("td.fill-4").count() == 1
    assert page.locator("#waiting h2").inner_text().endswith("0 份")
    shot(page, "shelving-after")

    page.goto(f"{server}/dossiers/{files[0]['id']}")
    assert "三号库房 C01架 1列 1节 1层" in page.locator("#shelf-slot").inner_text()
    assert "上架" in page.locator("ol.custody").inner_text()
    # Moving it: scan the label of an empty layer into the box (a scanner types the code and Enter).
    empty = sorted(code for code, used in by_code.items() if used == 0)[-1]
    page.get_by_label("层位条码").fill(empty)
    with page.expect_navigation():
        page.get_by_label("层位条码").press("Enter")
    assert empty in page.locator("#shelf-slot").inner_text()
    assert "移架" in page.locator("ol.custody").inner_text()
    page.get_by_label("层位条码").fill("L9999-01A-01-1")
    with page.expect_navigation():
        page.get_by_label("层位条码").press("Enter")
    assert "未找到该架位" in page.locator("body").inner_text()

    page.goto(f"{server}/planning")
    page.get_by_label("年数").fill("5")
    page.get_by_label("未入系统的存量（卷）").fill("2000")
    with page.expect_navigation():
        page.locator("#run-forecast").click()
    page.locator("#forecast-table tbody tr").first.wait_for()  # the answer's page, not the form's
    assert page.locator("#forecast-table tbody tr").count() == 5
    summary = page.locator("#forecast-summary").inner_text()
    assert "需库房" in summary and "依据：西人社发〔2020〕14号 六(二)" in summary
    assert page.locator("svg.chart circle").count() == 5
    assert "forecast.xlsx?years=5" in page.locator("#export-forecast").get_attribute("href")
    shot(page, "shelving-forecast")
