"""The shelving API: occupancy figures, placing by a scanned layer code, labels, forecast, errors by field."""

import subprocess

from archive_service.demo import XICHENG, citizen_id


def test_occupancy_figures_per_room_unit_and_layer(client, login):
    rooms = client.get("/api/shelving/rooms", headers=login("archivist")).json()
    store = rooms[0]
    assert (store["name"], store["kind"], store["capacity"]) == ("一号库房", "store", 2 * 4 * 2 * 3 * 6 * 26)
    assert (
        store["used"]
        == sum(u["used"] for u in store["units"])
        == sum(layer["used"] for u in store["units"] for layer in u["layers"])
    )
    assert store["used"] > 0
    layer = store["units"][0]["layers"][0]
    assert set(layer) == {"slot_id", "code", "column_no", "side", "section_no", "layer_no", "used", "capacity"}
    assert client.get("/api/shelving/rooms", headers=login("dongcheng")).json() == []


def test_place_by_scanned_layer_code_then_print_labels(client, login):
    headers = login("archivist")
    enterprise = next(
        o for o in client.get("/api/organisations", headers=login("admin")).json() if o["kind"] == "enterprise"
    )
    body = {
        "retiree": {
            "name": "上架测试",
            "citizen_id": citizen_id(XICHENG, __import__("datetime").date(1961, 5, 6), 777, "F"),
            "sex": "F",
            "birth_date": "1961-05-06",
            "enterprise_id": enterprise["id"],
            "hukou_region_code": XICHENG,
            "residence_region_code": XICHENG,
        }
    }
    created = client.post("/api/dossiers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    dossier_id = created.json()["id"]
    assert dossier_id in client.get("/api/shelving/unshelved", headers=headers).json()
    rooms = client.get("/api/shelving/rooms", headers=headers).json()
    empty = next(layer for layer in rooms[0]["units"][1]["layers"] if layer["used"] == 0)
    placed = client.put(
        f"/api/shelving/dossiers/{dossier_id}/slot", json={"slot_code": empty["code"].lower()}, headers=headers
    )
    assert placed.status_code == 200, placed.text
    assert placed.json()["slot_id"] == empty["slot_id"] and "一号库房 A02架" in placed.json()["slot_label"]
    missing = client.put(f"/api/shelving/dossiers/{dossier_id}/slot", json={}, headers=headers)
    assert missing.status_code == 422 and missing.json()["field"] == "slot_id"
    pdf = client.post("/api/shelving/labels", json={"dossier_ids": [dossier_id]}, headers=headers)
    assert pdf.headers["content-type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout.decode()
    assert created.json()["archival_code"] in text and "上架测试" in text and "一号库房 A02架" in text
    assert empty["code"] not in text  # a box label reprint is the box's label, not its layer's too
    pdf = client.post("/api/shelving/labels", json={"slot_ids": [empty["slot_id"]]}, headers=headers)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout.decode()
    assert empty["code"] in text and created.json()["archival_code"] in text  # the layer's, with what it holds
    none = client.post("/api/shelving/labels", json={}, headers=headers)
    assert none.status_code == 422 and none.json()["field"] == "dossier_ids"


def test_errors_name_the_field_and_the_rule(client, login):
    headers = login("archivist")
    r = client.post(
        "/api/shelving/rooms",
        json={"name": "三号库房", "kind": "store", "usable_area_m2": 50, "rh_min_pct": 70},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["field"] == "rh_max_pct"
    room = client.post("/api/shelving/rooms", json={"name": "三号库房", "usable_area_m2": 50}, headers=headers).json()
    r = client.post(
        f"/api/shelving/rooms/{room['id']}/units",
        json={"code": "C01", "columns": 2, "sections": 2, "layers": 5, "usable_width_mm": 50, "capacity_per_layer": 10},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["field"] == "usable_width_mm" and "100–3000" in r.json()["message"]
    r = client.post(
        f"/api/shelving/rooms/{room['id']}/units",
        json={"code": "C01", "columns": 2, "sections": 2, "layers": 5, "sides": 1, "capacity_per_layer": 10},
        headers=headers,
    )
    assert r.status_code == 201 and r.json()["capacity"] == 2 * 2 * 5 * 10
    r = client.get("/api/shelving/forecast?years=99", headers=headers)
    assert r.status_code == 422 and r.json()["field"] == "years"
    r = client.put("/api/shelving/policy", json={"preset": "dalian"}, headers=headers)
    assert r.status_code == 403


def test_forecast_json_and_export_carry_the_policy_basis(client, login):
    headers = login("admin")
    assert (
        client.put("/api/shelving/policy", json={"preset": "jinning"}, headers=headers).json()["name"] == "昆明市晋宁区"
    )
    forecast = client.get("/api/shelving/forecast?years=4&other_stock_volumes=5000", headers=headers).json()
    assert len(forecast["rows"]) == 4
    row = forecast["rows"][-1]
    assert row["area"]["unit"] == "m²" and "晋政办通〔2020〕18号 第二十条" in row["area"]["basis"]
    assert "第十二条" in row["archivists"]["basis"]
    assert row["volumes"] > 5000
    xlsx = client.get("/api/shelving/forecast.xlsx?years=4", headers=headers)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    alerts = client.get("/api/shelving/climate-alerts", headers=headers).json()
    assert len(alerts) == 1 and alerts[0]["breaches"]


def test_a_files_label_is_reprinted_from_its_dossier_page(client, login):
    """Labels could be printed only from the one-off page after auto-assign."""
    import subprocess
    import tempfile

    archivist = login("archivist")
    dossier = client.get("/api/dossiers", headers=archivist).json()["items"][0]
    page = client.get(f"/dossiers/{dossier['id']}", headers=archivist).text
    assert 'id="reprint-label"' in page and f'name="dossier_ids" value="{dossier["id"]}"' in page
    pdf = client.post("/shelving/labels", data={"dossier_ids": [dossier["id"]]}, headers=archivist)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf.content)
        f.flush()
        text = subprocess.run(["pdftotext", f.name, "-"], capture_output=True, text=True, check=True).stdout
    assert dossier["archival_code"] in text


def test_the_administrator_types_the_bureaus_own_figures_on_the_planning_page(client):
    """The page told administrators to call PUT /api/shelving/policy for their own figures; they type them."""
    from tests.archive_service.test_forms_keep_values import _cookie_login, forms_of

    _cookie_login(client, "admin")
    own = forms_of(client.get("/planning").text)["/planning/policy/custom"]
    assert own["area_m2_per_10k_volumes"] == ["60"]  # filled with the policy in force (national)
    typed = {k: v[0] for k, v in own.items()} | {"area_m2_per_10k_volumes": "45", "planning_years": "十"}
    refused = client.post("/planning/policy/custom", data=typed, follow_redirects=False)
    assert refused.status_code == 422 and 'data-field="planning_years"' in refused.text, refused.text[:500]
    assert forms_of(refused.text)["/planning/policy/custom"]["area_m2_per_10k_volumes"] == ["45"]  # kept
    typed["planning_years"] = "500"
    refused = client.post("/planning/policy/custom", data=typed, follow_redirects=False)
    assert refused.status_code == 422 and "规划年限（年）须在 1–50 之间" in refused.text
    typed["planning_years"] = "15"
    done = client.post("/planning/policy/custom", data=typed, follow_redirects=True)
    assert done.status_code == 200 and "本馆政策已设为：本馆自定" in done.text
    policy = client.get("/api/shelving/policy").json()
    assert policy["preset"] == "custom" and policy["area_basis"] == "本馆自定：每万卷 45 m²"
    assert policy["planning_years"] == 15
