"""The transfers API: a refused register answers 422 with every problem in the error body; a good one
goes through receive and both confirmations to a receipt."""

import io

import pikepdf

from tests.archive_service.test_transfers import as_csv, as_xlsx, row


def pdf_text(data: bytes) -> str:
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        return subprocess.run(["pdftotext", f.name, "-"], capture_output=True, text=True, check=True).stdout


def enterprise_id(client, headers) -> int:
    return [o for o in client.get("/api/organisations", headers=headers).json() if o["kind"] == "enterprise"][4]["id"]


def test_register_problems_come_back_in_the_error_body(client, login):
    headers = login("clerk")
    before = client.get("/api/transfers", headers=headers).json()
    assert [b["from_org"] for b in before] == ["北京红星电子仪器厂"]  # the demo's open batch
    files = {"file": ("名册.csv", as_csv([row(1), row(2, 死亡日期="2025-01-01")]), "text/csv")}
    r = client.post(
        "/api/transfers", data={"enterprise_id": enterprise_id(client, headers)}, files=files, headers=headers
    )
    assert r.status_code == 422
    body = r.json()
    assert (body["code"], body["field"]) == ("register.rows", "file")
    assert body["problems"] == [
        {
            "row": 3,
            "name": "移交2",
            "column": "死亡日期",
            "code": "retiree.deceased",
            "message": "移交前已死亡人员的档案由原企业保管，不予移交",
        }
    ]
    assert client.get("/api/transfers", headers=headers).json() == before
    template = client.get("/api/transfers/template.xlsx", headers=headers)
    assert template.status_code == 200 and template.content[:2] == b"PK"


def test_a_batch_through_the_api(client, login):
    clerk = login("clerk")
    files = {"file": ("名册.xlsx", as_xlsx([row(1), row(2)]), "application/octet-stream")}
    created = client.post(
        "/api/transfers", data={"enterprise_id": enterprise_id(client, clerk)}, files=files, headers=clerk
    )
    assert created.status_code == 201, created.text
    batch = created.json()
    assert batch["status"] == "registered" and batch["progress"]["pending"] == 2
    first, second = batch["items"]
    r = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": first["citizen_id"]}, headers=clerk)
    assert r.status_code == 200 and r.json()["result"] == "accepted" and r.json()["dossier_id"]
    r = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": first["citizen_id"]}, headers=clerk)
    assert r.status_code == 409 and r.json()["code"] == "item.already_checked"
    r = client.post(f"/api/transfers/{batch['id']}/confirm", json={"side": "receiver"}, headers=clerk)
    assert r.status_code == 409 and r.json()["code"] == "batch.pending_items"
    r = client.post(
        f"/api/transfers/{batch['id']}/receive",
        json={"key": f"#{second['row_no']}", "result": "rejected"},
        headers=clerk,
    )
    assert r.status_code == 422 and r.json()["field"] == "reason"
    client.post(
        f"/api/transfers/{batch['id']}/receive",
        json={"key": f"#{second['row_no']}", "result": "rejected", "reason": "重复移交"},
        headers=clerk,
    )
    client.post(
        f"/api/transfers/{batch['id']}/confirm", json={"side": "sender", "sender_name": "刘移交"}, headers=clerk
    )
    paper = {"side": "receiver", "paper_reason": "企业无数字化条件，由本馆接收后数字化"}
    done = client.post(f"/api/transfers/{batch['id']}/confirm", json=paper, headers=clerk).json()
    assert done["status"] == "confirmed" and len(done["manifest_sha256"]) == 64
    pdf = client.get(f"/api/transfers/{batch['id']}/receipt.pdf", headers=clerk)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    with pikepdf.open(io.BytesIO(pdf.content)) as doc:  # the title a viewer's window shows
        assert str(doc.docinfo["/Title"]) == f"移交交接书 {batch['number']}"
    text = pdf_text(pdf.content)
    assert "（北京时间）" in text and "（UTC）" not in text and "Z（" not in text
    assert text.count("（单位盖章）") == 2 and text.count("经办人签字") == 2  # room to sign and seal, each party
    page = client.get(f"/transfers/{batch['id']}", headers=clerk).text
    assert "李接收 · " in page.split('id="receiver-confirmed"')[1][:80]  # who confirmed for the bureau
    assert "<dt>移交单位</dt>" in page and "转出馆" not in page
    assert client.get(f"/api/transfers/{batch['id']}", headers=login("dongcheng")).status_code == 404


def test_a_refused_register_upload_keeps_the_enterprise_it_was_for(client, login):
    """After a refused upload the picker jumped back to the first enterprise, so the corrected re-upload
    filed the batch under the wrong one."""
    import re

    clerk = login("clerk")
    enterprises = [o for o in client.get("/api/organisations", headers=clerk).json() if o["kind"] == "enterprise"]
    chosen = sorted(enterprises, key=lambda o: o["name"])[-1]  # not the first in the list
    bad = {"file": ("名册.csv", as_csv([row(1, 死亡日期="2025-01-01")]), "text/csv")}
    page = client.post("/transfers", data={"enterprise_id": chosen["id"]}, files=bad, headers=clerk)
    assert page.status_code == 422 and "不予移交" in page.text
    selected = re.findall(r'<option value="(\d+)" selected>', page.text)
    assert selected and set(selected) == {str(chosen["id"])}
    pasted = client.post(
        "/transfers/pasted", data={"enterprise_id": chosen["id"], "rows": "序号\t姓名\n1\t张三"}, headers=clerk
    )
    assert pasted.status_code == 422 and set(re.findall(r'<option value="(\d+)" selected>', pasted.text)) == {
        str(chosen["id"])
    }


def test_the_register_templates_example_row_is_never_taken_as_a_retiree(client, login):
    """The template's example row (张三, a valid ID) was accepted as data when left in."""
    import io

    from openpyxl import load_workbook

    clerk = login("clerk")
    template = client.get("/api/transfers/template.xlsx", headers=clerk).content
    book = load_workbook(io.BytesIO(template))
    sheet = book.active
    assert sheet.cell(row=2, column=1).value == "示例" and sheet.cell(row=2, column=2).value == "张三"
    only_example = io.BytesIO()
    book.save(only_example)
    files = {"file": ("名册.xlsx", only_example.getvalue(), "application/octet-stream")}
    r = client.post("/api/transfers", data={"enterprise_id": enterprise_id(client, clerk)}, files=files, headers=clerk)
    assert r.status_code == 422 and r.json()["code"] == "file.no_rows"  # the example alone is no register
    for cell, value in zip(sheet[3], [1] + [c.value for c in sheet[2]][1:], strict=True):
        cell.value = value
    sheet.cell(row=3, column=2).value = "李四"
    with_example = io.BytesIO()
    book.save(with_example)
    files = {"file": ("名册.xlsx", with_example.getvalue(), "application/octet-stream")}
    r = client.post("/api/transfers", data={"enterprise_id": enterprise_id(client, clerk)}, files=files, headers=clerk)
    assert r.status_code == 201, r.text
    assert [i["retiree_name"] for i in r.json()["items"]] == ["李四"]  # the example row left in is ignored


def test_the_receiving_screen_lists_what_is_still_to_receive_and_says_how_to_key_a_row(client, login):
    clerk = login("clerk")
    files = {"file": ("名册.xlsx", as_xlsx([row(61, 姓名="甲乙"), row(62, 姓名="丙丁")]), "application/octet-stream")}
    batch = client.post(
        "/api/transfers", data={"enterprise_id": enterprise_id(client, clerk)}, files=files, headers=clerk
    )
    batch = batch.json()
    screen = client.get(f"/transfers/{batch['id']}/receive", headers=clerk).text
    assert "尚待核对 2 份" in screen and "甲乙" in screen and "丙丁" in screen and "#序号" in screen
    assert client.post(f"/api/transfers/{batch['id']}/receive", json={"key": "#61"}, headers=clerk).status_code == 200
    screen = client.get(f"/transfers/{batch['id']}/receive", headers=clerk).text
    waiting = screen.split('id="still-to-receive"')[1].split("</details>")[0]
    assert "尚待核对 1 份" in waiting and "丙丁" in waiting and "甲乙" not in waiting


def test_lixiu_retirees_are_refused_and_the_work_start_date_is_carried_into_the_file(client, login):
    """000 一、001 第四条、002 第三十六条: 离休 retirees keep their present management (unless the bureau is set to
    accept them: test_lixiu.py). 参加工作时间 from the
    register reaches the dossier (the fact sheet compares the pages with it); an earlier template without
    the two new columns is still read."""
    import csv
    import io

    from archive_service.transfers import register

    clerk = login("clerk")
    enterprise = enterprise_id(client, clerk)
    bad = [row(11, 离休="是"), row(12, 参加工作时间="1958-03-01", 出生日期="1958-03-13")]
    bad[1]["公民身份号码"] = row(12)["公民身份号码"].replace(row(12)["出生日期"].replace("-", ""), "19580313")
    r = client.post(
        "/api/transfers", data={"enterprise_id": enterprise}, files={"file": ("名册.xlsx", as_xlsx(bad))}, headers=clerk
    )
    assert r.status_code == 422
    problems = {(p["row"], p["column"]): p for p in r.json()["problems"]}
    assert problems[(2, "离休")]["code"] == "retiree.lixiu" and "第三十六条" in problems[(2, "离休")]["message"]
    assert problems[(3, "参加工作时间")]["code"] == "work_start_date.too_early"

    good = row(13, 参加工作时间="1976-09-01")
    created = client.post(
        "/api/transfers",
        data={"enterprise_id": enterprise},
        files={"file": ("名册.xlsx", as_xlsx([good]))},
        headers=clerk,
    )
    assert created.status_code == 201, created.text
    batch = created.json()
    got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": good["公民身份号码"]}, headers=clerk)
    assert got.status_code == 200, got.text
    dossier = client.get(f"/api/dossiers/{got.json()['dossier_id']}", headers=clerk).json()
    assert dossier["work_start_date"] == "1976-09-01"

    earlier = [h for h in register.HEADERS if h not in register.LATER_COLUMNS]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=earlier, extrasaction="ignore")
    writer.writeheader()
    writer.writerow(row(14))
    r = client.post(
        "/api/transfers",
        data={"enterprise_id": enterprise},
        files={"file": ("名册.csv", out.getvalue().encode(), "text/csv")},
        headers=clerk,
    )
    assert r.status_code == 201, r.text
