"""Missing-material certificates go with the file (issue 37 item 9; 红政办规〔2020〕6号 第九条(一): 人事档案有缺失的，
国有企业必须…提供相关情况证明材料一并移交): a batch with a received file marked 缺失 is not confirmed until the
certificate's scan is recorded on the file, or the bureau's approver records why it is accepted without one.
A register the test uploads, on SQLite and PostgreSQL."""

from tests.archive_service.test_catalogue_path import new_enterprise
from tests.archive_service.test_missing_materials import certificate_scan
from tests.archive_service.test_transfers import as_xlsx, row

GAP = "1985 年工资调整审批表"


def test_a_batch_with_a_file_marked_missing_waits_for_its_certificate_or_the_approvers_reason(client, login, tmp_path):
    clerk, approver = login("clerk"), login("approver")
    enterprise = new_enterprise(client, login)
    register = as_xlsx([row(95, 姓名="缺证甲", 缺失材料=GAP, 缺失材料证明="是"),
                        row(96, 姓名="缺证乙", 缺失材料="1978 年招工登记表", 缺失材料证明="是"),
                        row(97, 姓名="齐全丙")])  # fmt: skip
    batch = client.post(
        "/api/transfers", data={"enterprise_id": enterprise}, files={"file": ("名册.xlsx", register)}, headers=clerk
    ).json()
    dossiers = {}
    for item in batch["items"]:
        got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": item["citizen_id"]}, headers=clerk)
        dossiers[item["retiree_name"]] = (item["id"], got.json()["dossier_id"])
    sender = {"side": "sender", "sender_name": "刘移交"}
    refused = client.post(f"/api/transfers/{batch['id']}/confirm", json=sender, headers=clerk)
    assert refused.status_code == 409 and refused.json()["code"] == "batch.missing_certificates"
    message = refused.json()["message"]
    assert message.startswith("依据 红政办规〔2020〕6号 第九条(一)") and "2 份档案尚未登记缺失材料证明扫描件" in message
    assert f"缺证甲（缺：{GAP}）" in message and "齐全丙" not in message
    assert client.get(f"/api/transfers/{batch['id']}", headers=clerk).json()["sender_confirmed_by"] is None

    # 甲's certificate is scanned onto the file; 乙's enterprise has none, and the approver accepts it so.
    recorded = client.post(
        f"/api/dossiers/{dossiers['缺证甲'][1]}/missing-materials",
        data={"class_code": "9", "description": GAP, "issued_by": "北京新华纺织机械厂劳资科"},
        files={"certificate": ("证明.tif", certificate_scan(tmp_path / "证明.tif"))},
        headers=clerk,
    )
    assert recorded.status_code == 201, recorded.text
    still = client.post(f"/api/transfers/{batch['id']}/confirm", json=sender, headers=clerk).json()["message"]
    assert "1 份档案" in still and "缺证乙" in still and "缺证甲" not in still
    waiver = f"/api/transfers/{batch['id']}/items/{dossiers['缺证乙'][0]}/certificate-waiver"
    assert client.post(waiver, json={"reason": "原厂已撤销，无从出具证明"}, headers=clerk).status_code == 403
    r = client.post(waiver, json={"reason": "无"}, headers=approver)
    assert (r.status_code, r.json()["field"]) == (422, "reason")
    r = client.post(waiver, json={"reason": "原厂已撤销，无从出具证明"}, headers=approver)
    assert r.status_code == 201 and (r.json()["name"], r.json()["approved_by"]) == ("缺证乙", "赵审批")
    other = f"/api/transfers/{batch['id']}/items/{dossiers['齐全丙'][0]}/certificate-waiver"
    assert client.post(other, json={"reason": "不需要证明"}, headers=approver).status_code == 404  # nothing lacking

    assert client.post(f"/api/transfers/{batch['id']}/confirm", json=sender, headers=clerk).status_code == 200
    paper = {"side": "receiver", "paper_reason": "企业无扫描条件，本馆接收后数字化"}
    done = client.post(f"/api/transfers/{batch['id']}/confirm", json=paper, headers=clerk)
    assert done.status_code == 200 and done.json()["status"] == "confirmed"


def test_the_batch_page_lists_the_files_without_certificate_and_takes_the_approvers_reason(client, login):
    """第九条(一) on the batch page: the clerk sees which file lacks its certificate and where to record it; the
    approver records the reason on the page, which then shows it with the approver's name."""
    clerk, approver = login("clerk"), login("approver")
    enterprise = new_enterprise(client, login)
    register = as_xlsx([row(98, 姓名="缺证丁", 缺失材料=GAP, 缺失材料证明="是")])
    batch = client.post(
        "/api/transfers", data={"enterprise_id": enterprise}, files={"file": ("名册.xlsx", register)}, headers=clerk
    ).json()
    (item,) = batch["items"]
    got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": item["citizen_id"]}, headers=clerk)
    page = client.get(f"/transfers/{batch['id']}", headers=clerk).text
    section = page.split('id="missing-certificates"')[1].split("</section>")[0]
    assert "红政办规〔2020〕6号 第九条(一)" in section and "缺证丁" in section and GAP in section
    assert f'href="/dossiers/{got.json()["dossier_id"]}#missing-materials"' in section
    assert "无证明接收" not in section.split("</p>", 1)[1]  # the clerk may not waive
    action = f"/transfers/{batch['id']}/items/{item['id']}/certificate-waiver"
    assert "无证明接收" in client.get(f"/transfers/{batch['id']}", headers=approver).text.split(action)[1][:600]
    refused = client.post(action, data={"reason": ""}, headers=approver)
    assert refused.status_code == 422 and "请写明无证明接收的理由" in refused.text
    done = client.post(action, data={"reason": "原厂已撤销，无从出具证明"}, headers=approver)
    assert done.status_code == 200
    waived = done.text.split('id="certificate-waivers"')[1].split("</table>")[0]
    assert "缺证丁" in waived and "原厂已撤销，无从出具证明" in waived and "赵审批" in waived
    assert 'id="lacking-certificates"' not in done.text
