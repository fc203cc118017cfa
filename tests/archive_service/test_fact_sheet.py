"""The fact sheet of a file (三龄两历一身份), on SQLite and PostgreSQL: every statement with its page and
material, the first-recorded rule, disagreement marks, the archivist's confirmation (an event), the
requester's sheet from granted pages only, and the 核查表 on the access log.

The page texts here are written as the OCR would have stored them, so each rule is tested on known
text; tests/e2e/test_fact_sheet.py reads drawn pages with the real OCR, through the browser."""

import io

from openpyxl import load_workbook

from archive_service import db
from archive_service.dossiers.models import PageText
from tests.archive_service.test_requests import approved, log


def _write_pages(dossier_id: int, texts: dict[int, str]) -> None:
    with db.get_sessionmaker()() as session:
        for page, text in texts.items():
            row = session.get(PageText, (dossier_id, page))
            row.text = text
        session.commit()


def _two_materials(client, login, dossier_id):
    """The file's earliest-formed material and a later one of another class, each with its first page."""
    materials = client.get(f"/api/dossiers/{dossier_id}/catalogue", headers=login("archivist")).json()["materials"]
    dated = sorted((m for m in materials if m["first_page"] and m["date_formed"]), key=lambda m: m["date_formed"])
    early = dated[0]
    late = next(m for m in reversed(dated) if m["class_code"].split("-")[0] != early["class_code"].split("-")[0])
    return early, late


def test_each_value_with_its_pages_and_the_first_recorded_prevails(client, login, digitised):
    archivist = login("archivist")
    detail = client.get(f"/api/dossiers/{digitised.id}", headers=archivist).json()
    born = detail["birth_date"]  # the ID card's date, as registered
    year, month = int(born[:4]), int(born[5:7])
    early, late = _two_materials(client, login, digitised.id)
    # The earliest material states a birth month a year off the ID card; a later one agrees with the card.
    _write_pages(
        digitised.id,
        {
            early["first_page"]: f"姓名：{detail['retiree_name']} 民族：回族 出生年月：{year + 1}.{month}\n"
            "参加工作时间：78.9 文化程度：初中",
            late["first_page"]: f"出生日期：{born[:4]}年{month}月{int(born[8:])}日\n参加工作时间 一九七八年九月",
        },
    )
    sheet = client.get(f"/api/dossiers/{digitised.id}/facts", headers=archivist)
    assert sheet.status_code == 200, sheet.text
    facts = {f["kind"]: f for f in sheet.json()["facts"]}
    birth = facts["birth_date"]
    assert [v["value"] for v in birth["values"]] == [f"{year + 1}-{month:02d}", born]  # first recorded first
    assert birth["values"][0]["first_recorded"] and birth["values"][0]["evidence"][0]["page"] == early["first_page"]
    assert birth["values"][0]["evidence"][0]["material"] == early["title"]
    assert birth["prevailing"] == f"{year + 1}-{month:02d}"  # the file's first record, not the ID card
    assert birth["conflict"] and birth["differs_from_register"] and birth["registered"] == born
    work = facts["work_start"]  # 78.9 and 一九七八年九月 are one value, stated on two pages
    assert [(v["value"], [e["page"] for e in v["evidence"]]) for v in work["values"]] == [
        ("1978-09", [early["first_page"], late["first_page"]])
    ]
    assert not work["conflict"] and work["prevailing"] == "1978-09"
    assert facts["ethnicity"]["prevailing"] == "回" and facts["education"]["prevailing"] == "初中"
    assert facts["party_joined"]["values"] == [] and facts["party_joined"]["prevailing"] is None

    # The page shows the sheet with its marks; the excerpt read is on each page link.
    page = client.get(f"/dossiers/{digitised.id}", headers=archivist).text
    assert 'id="fact-sheet"' in page and "档案内记载不一致" in page and "与登记不符" in page
    assert "参加工作时间：78.9" in page

    # Confirming: bad values named by field and rule; the clerk may not; the archivist's value stands.
    r = client.post(f"/api/dossiers/{digitised.id}/facts/birth_date", json={"value": "六月"}, headers=archivist)
    assert r.status_code == 400 and r.json()["field"] == "value" and r.json()["code"] == "fact.value_not_a_date"
    r = client.post(f"/api/dossiers/{digitised.id}/facts/salary", json={"value": "1"}, headers=archivist)
    assert r.status_code == 400 and r.json()["field"] == "kind"
    r = client.post(f"/api/dossiers/{digitised.id}/facts/birth_date", json={"value": born}, headers=login("clerk"))
    assert r.status_code == 403
    r = client.post(
        f"/api/dossiers/{digitised.id}/facts/birth_date",
        json={"value": f"{born[:4]}年{month}月{int(born[8:])}日", "page": late["first_page"], "note": "户籍底册为证"},
        headers=archivist,
    )
    assert r.status_code == 200, r.text
    birth = {f["kind"]: f for f in r.json()["facts"]}["birth_date"]
    assert birth["prevailing"] == born and not birth["differs_from_register"] and birth["conflict"]
    assert birth["confirmed"]["actor_name"] and birth["confirmed"]["page"] == late["first_page"]
    # Another bureau's archivist cannot see or confirm it.
    other = client.post(
        f"/api/dossiers/{digitised.id}/facts/birth_date", json={"value": born}, headers=login("dongcheng")
    )
    assert other.status_code in (403, 404)

    # The 核查表: one row per fact with the prevailing value and its basis; on the access log.
    xlsx = client.get(f"/dossiers/{digitised.id}/facts.xlsx", headers=archivist)
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    by_label = {r[0]: r for r in rows[4:]}
    assert (
        by_label["出生日期"][1] == born
        and "确认" in by_label["出生日期"][2]
        and by_label["出生日期"][5] == "档案内记载不一致"
    )
    assert by_label["参加工作时间"][1] == "1978-09" and f"第{early['first_page']}页" in by_label["参加工作时间"][2]
    entries = log(dossier_id=digitised.id, action="fact_sheet")
    assert len(entries) == 1 and entries[0].pages == sorted({early["first_page"], late["first_page"]})


def test_a_requester_sees_the_facts_of_the_granted_pages_only(client, login, digitised):
    materials = client.get(f"/api/dossiers/{digitised.id}/catalogue", headers=login("archivist")).json()["materials"]
    top = lambda m: int(m["class_code"].split("-")[0])  # noqa: E731
    granted = next(m for m in materials if m["first_page"] and top(m) == 9)  # 待遇变更 asks for 1 and 9; 9 granted
    other = next(m for m in materials if m["first_page"] and top(m) != 9)
    late, early = granted, other
    _write_pages(
        digitised.id,
        {early["first_page"]: "入党时间：1980年7月1日 籍贯：河北保定", late["first_page"]: "入党时间：1981年7月"},
    )
    request = approved(client, login, digitised, material_classes=[9])
    sibao = login("sibao")
    page = client.get(f"/requests/{request['id']}/view", headers=sibao)
    assert page.status_code == 200, page.text
    sheet = page.text.split('id="fact-sheet"')[1]
    assert "1981-07" in sheet and "1980-07-01" not in sheet and "河北保定" not in sheet  # nothing from ungranted pages
    assert f"/requests/{request['id']}/view?page={late['first_page']}" in sheet
    assert "confirm-fact" not in sheet  # requesters read, they do not confirm
    xlsx = client.get(f"/requests/{request['id']}/facts.xlsx", headers=sibao)
    assert xlsx.status_code == 200
    cells = " ".join(
        str(c) for r in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True) for c in r
    )
    assert "1981-07" in cells and "1980-07-01" not in cells and "河北保定" not in cells
    entry = log(request_id=request["id"], action="fact_sheet")
    assert len(entry) == 1 and entry[0].pages == [late["first_page"]]
    # Another requester's request is not theirs to export.
    assert client.get(f"/requests/{request['id']}/facts.xlsx", headers=login("archivist")).status_code == 403


def test_search_finds_a_date_however_written_and_filters_on_the_confirmed_work_start(client, login, digitised):
    from tests.archive_service.test_search import sync

    archivist = login("archivist")
    early, late = _two_materials(client, login, digitised.id)
    _write_pages(digitised.id, {early["first_page"]: "参加工作时间：七三年", late["first_page"]: "一九七三年九月入厂"})
    sync(db.get_engine())
    found = client.get("/api/search", params={"q": "1973年9月"}, headers=archivist).json()
    assert [r["dossier_id"] for r in found["results"]] == [digitised.id]
    assert "<mark>一九七三年九月</mark>" in found["results"][0]["pages"][0]["snippet"]
    assert client.get("/api/search", params={"q": "1973.10"}, headers=archivist).json()["total"] == 0
    # 参加工作时间 as the file has it: unknown until confirmed (the page's 七三年 is no date), then found by range.
    in_1973 = {"work_from": "1973-01-01", "work_to": "1973-12-31"}
    assert client.get("/api/search", params=in_1973, headers=archivist).json()["total"] == 0
    r = client.post(
        f"/api/dossiers/{digitised.id}/facts/work_start",
        json={"value": "1973.9", "page": late["first_page"]},
        headers=archivist,
    )
    assert r.status_code == 200, r.text
    sync(db.get_engine())
    found = client.get("/api/search", params=in_1973, headers=archivist).json()
    assert [r["dossier_id"] for r in found["results"]] == [digitised.id]
    page = client.get("/search", params={"q": "一九七三年九月", **in_1973}, headers=archivist).text
    assert 'name="work_from" value="1973-01-01"' in page and "<mark>一九七三年九月</mark>" in page
    # A date that is a particular's is named as such where the hit says what matched.
    born = client.get(f"/api/dossiers/{digitised.id}", headers=archivist).json()["birth_date"]
    page = client.get("/search", params={"q": f"{born[:4]}年{int(born[5:7])}月"}, headers=archivist).text
    assert "命中：出生日期" in page
