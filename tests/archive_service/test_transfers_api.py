"""The transfers API: a refused register answers 422 with every problem in the error body; a good one
goes through receive and both confirmations to a receipt."""

from tests.archive_service.test_transfers import as_csv, as_xlsx, row


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
    done = client.post(f"/api/transfers/{batch['id']}/confirm", json={"side": "receiver"}, headers=clerk).json()
    assert done["status"] == "confirmed" and len(done["manifest_sha256"]) == 64
    pdf = client.get(f"/api/transfers/{batch['id']}/receipt.pdf", headers=clerk)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
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
