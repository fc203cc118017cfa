"""Missing materials (001 第九条(一): 缺失的材料由原单位出具证明): a new enterprise's register declares a gap,
the clerk receives the file and records the certificate's scan with it (stored and checksummed like
every object, nothing kept when the form is wrong), and a requester granted the class sees the
certificate — watermarked, logged — while one granted another class does not."""

import hashlib
import io
from datetime import timedelta

import numpy as np
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.db import bureau_today
from archive_service.dossiers.models import DigitalObject
from tests.archive_service.test_catalogue_path import new_enterprise
from tests.archive_service.test_requests import READER
from tests.archive_service.test_transfers import as_xlsx, row
from tests.rendering import likeness

GAP = "1985年工资调整审批表"


def certificate_scan(path, pages: int = 2) -> bytes:
    """A certificate as a scanner makes it: a multi-page TIFF, each page with its text block at its own height."""
    frames = []
    for n in range(pages):
        page = Image.new("L", (1654, 2339), 240)  # A4 at 200 dpi
        top = 300 + n * 900
        ImageDraw.Draw(page).rectangle((200, top, 1450, top + 400), fill=30)
        frames.append(page)
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(200, 200), compression="tiff_lzw")
    return path.read_bytes()


def objects(session) -> int:
    return session.scalar(select(func.count()).select_from(DigitalObject)) or 0


def ask(client, login, code: str, classes: list[int]) -> int:
    today = bureau_today()
    form = {"dossier": code, "purpose": "benefit_change", "purpose_detail": "待遇变更，核对工资调整",
            "material_classes": classes, "mode": "online_view", "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=6)).isoformat(), "reader_name": "李社保",
            "reader_citizen_id": READER, "relationship": "none"}  # fmt: skip
    submitted = client.post("/api/requests", json=form, headers=login("sibao"))
    assert submitted.status_code == 201, submitted.text
    rid = submitted.json()["id"]
    decided = client.post(
        f"/api/requests/{rid}/decision", json={"approve": True, "material_classes": classes}, headers=login("approver")
    )
    assert decided.status_code == 200, decided.text
    return rid


def test_a_certificate_received_with_a_file_is_kept_with_it_and_shown_to_the_granted_requester(client, login, tmp_path):
    clerk, archivist = login("clerk"), login("archivist")
    enterprise = new_enterprise(client, login)
    register = as_xlsx([row(81, 姓名="孙海燕", 缺失材料=GAP, 缺失材料证明="是")])
    batch = client.post(
        "/api/transfers", data={"enterprise_id": enterprise}, files={"file": ("名册.xlsx", register)}, headers=clerk
    ).json()
    (item,) = batch["items"]
    got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": item["citizen_id"]}, headers=clerk)
    dossier_id = got.json()["dossier_id"]
    listed = client.get(f"/api/dossiers/{dossier_id}/missing-materials", headers=clerk).json()
    assert listed == {"declared": GAP, "recorded": []}

    scan = certificate_scan(tmp_path / "证明.tif")
    with db.transaction() as session:
        before = objects(session)
    # Every problem of the form named; nothing stored.
    bad = client.post(
        f"/api/dossiers/{dossier_id}/missing-materials",
        data={"class_code": "99", "description": "", "issued_by": "厂"},
        files={"certificate": ("证明.tif", scan)},
        headers=clerk,
    )
    assert bad.status_code == 422 and bad.json()["field"] == "class_code"
    assert "类号 99 不在本档案的分类方案中" in bad.json()["message"]
    assert "请写明缺失的材料" in bad.json()["message"] and "请写明出具证明的单位" in bad.json()["message"]
    broken = client.post(
        f"/api/dossiers/{dossier_id}/missing-materials",
        data={"class_code": "9", "description": GAP, "issued_by": "北京新华纺织机械厂劳资科"},
        files={"certificate": ("证明.tif", scan[: len(scan) // 3])},
        headers=clerk,
    )
    assert (
        broken.status_code == 422 and broken.json()["field"] == "certificate" and "证明.tif" in broken.json()["message"]
    )
    with db.transaction() as session:
        assert objects(session) == before

    recorded = client.post(
        f"/api/dossiers/{dossier_id}/missing-materials",
        data={"class_code": "9", "description": GAP, "issued_by": "北京新华纺织机械厂劳资科"},
        files={"certificate": ("证明.tif", scan)},
        headers=clerk,
    )
    assert recorded.status_code == 201, recorded.text
    entry = recorded.json()
    assert entry["certificate_sha256"] == hashlib.sha256(scan).hexdigest() and entry["certificate_pages"] == 2
    assert (entry["class_code"], entry["description"], entry["recorded_by"]) == ("9", GAP, "李接收")
    page = client.get(f"/dossiers/{dossier_id}", headers=archivist).text
    assert 'id="missing-declared"' in page and entry["certificate_name"] in page
    stored = client.get(f"/dossiers/{dossier_id}/missing-materials/{entry['id']}/certificate", headers=archivist)
    assert stored.status_code == 200 and stored.content == scan  # kept as scanned
    assert (
        client.get(f"/dossiers/{dossier_id}/missing-materials/{entry['id']}/certificate", headers=clerk).status_code
        == 403
    )

    # Granted class 9: the requester sees the certificate's two pages; granted class 1 only: not at all.
    code = client.get(f"/api/dossiers/{dossier_id}", headers=archivist).json()["archival_code"]
    rid = ask(client, login, code, [9])
    viewer = client.get(f"/requests/{rid}/view", headers=login("sibao"))
    assert viewer.status_code == 200 and f"缺{GAP}" in viewer.text
    assert f'src="/api/requests/{rid}/missing-materials/{entry["id"]}/pages/1"' in viewer.text
    sources = [Image.open(tmp_path / "证明.tif") for _ in range(2)]
    sources[1].seek(1)
    for n in (1, 2):
        shown = client.get(f"/api/requests/{rid}/missing-materials/{entry['id']}/pages/{n}", headers=login("sibao"))
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
        image = Image.open(io.BytesIO(shown.content))
        assert likeness(image, sources[n - 1]).alike and not likeness(image, sources[2 - n]).alike
        rgb = np.asarray(image.convert("RGB")).astype(int)
        assert int(((rgb[..., 0] > 150) & (rgb[..., 1] < 120) & (rgb[..., 2] < 120)).sum()) > 500  # watermarked
    beyond = client.get(f"/api/requests/{rid}/missing-materials/{entry['id']}/pages/3", headers=login("sibao"))
    assert beyond.status_code == 404 and beyond.json()["field"] == "page"
    other = ask(client, login, code, [1])
    assert (
        client.get(f"/api/requests/{other}/missing-materials/{entry['id']}/pages/1", headers=login("sibao")).status_code
        == 404
    )
    # Another requester may not, even with the request's number.
    assert client.get(f"/api/requests/{rid}/missing-materials/{entry['id']}/pages/1", headers=clerk).status_code in (
        403,
        404,
    )
    with db.transaction() as session:
        views = session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.action == "view_certificate").order_by(AccessLogEntry.seq)
        ).all()
    assert [(v.request_id, v.pages) for v in views if v.request_id] == [(rid, [1]), (rid, [2])]
    assert any(v.request_id is None and v.dossier_id == dossier_id for v in views)  # the archivist's look


def test_every_copy_handed_over_carries_the_granted_certificates(client, login, digitised, tmp_path):
    """A download, a print and a certified copy for a benefit case hold the granted classes' pages and then
    the certificates of what those classes lack — rendered as scanned, watermarked, named in the access log;
    the certification page lists them. A class with only a certificate is no longer 'unservable'."""
    import base64
    import re

    import pikepdf

    from tests.archive_service.test_requests import approved, log, submit
    from tests.rendering import render

    scan = certificate_scan(tmp_path / "证明.tif")
    recorded = client.post(
        f"/api/dossiers/{digitised.id}/missing-materials",
        data={"class_code": "9", "description": GAP, "issued_by": "原单位劳资科"},
        files={"certificate": ("证明.tif", scan)},
        headers=login("archivist"),  # a file in custody: the archivist's (the clerk's while its batch is open)
    )
    assert recorded.status_code == 201, recorded.text
    sources = [Image.open(tmp_path / "证明.tif") for _ in range(2)]
    sources[1].seek(1)

    granted = approved(client, login, digitised, material_classes=[9], allow_download=True, allow_print=True)
    pages = granted["approved_pages"]
    pdf = client.get(f"/api/requests/{granted['id']}/download", headers=login("sibao"))
    assert pdf.status_code == 200, pdf.text
    rendered = render(pdf.content)
    assert len(rendered) == len(pages) + 2
    for n in (1, 2):  # the last two pages are the certificate's, each its own page, not a negative
        shown = rendered[len(pages) + n - 1]
        assert likeness(shown, sources[n - 1]).alike and not likeness(shown, sources[2 - n]).alike
    (download,) = log(request_id=granted["id"], action="download")
    assert download.pages == pages and GAP in download.detail

    printed = client.get(f"/requests/{granted['id']}/print", headers=login("sibao")).text
    labels = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)" alt="([^"]+)"', printed)
    assert [label for _, label in labels] == [f"第 {p} 页" for p in pages] + [
        f"缺失材料证明（{GAP}）第 {n} 页" for n in (1, 2)
    ]
    last = Image.open(io.BytesIO(base64.b64decode(labels[-1][0])))
    assert likeness(last, sources[1]).alike

    asked = submit(client, login, digitised, purpose="notarisation", mode="certified_copy", material_classes=[9])
    rid = asked.json()["id"]
    client.post(f"/api/requests/{rid}/decision", json={"approve": True}, headers=login("approver"))
    copy = client.post(
        f"/api/requests/{rid}/certified-copy", json={"annotation": "经核对与原件一致"}, headers=login("archivist")
    )
    assert copy.status_code == 200, copy.text
    with pikepdf.open(io.BytesIO(copy.content)) as doc:
        assert len(doc.pages) == 1 + len(pages) + 2
    cover, *_, final = render(copy.content)
    assert likeness(final, sources[1]).alike
    (export,) = log(request_id=rid, action="export")
    assert "复制件第 1 份" in export.detail and GAP in export.detail

    # Class 9 of a file never digitised, with the certificate: the approver is not told it serves nothing.
    register = as_xlsx([row(82, 姓名="钱玉兰", 缺失材料=GAP, 缺失材料证明="是")])
    clerk = login("clerk")
    batch = client.post("/api/transfers", data={"enterprise_id": new_enterprise(client, login)},
                        files={"file": ("名册.xlsx", register)}, headers=clerk).json()  # fmt: skip
    (item,) = batch["items"]
    got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": item["citizen_id"]}, headers=clerk).json()
    client.post(
        f"/api/dossiers/{got['dossier_id']}/missing-materials",
        data={"class_code": "9", "description": GAP, "issued_by": "原单位劳资科"},
        files={"certificate": ("证明.tif", scan)},
        headers=clerk,
    )
    code = client.get(f"/api/dossiers/{got['dossier_id']}", headers=login("archivist")).json()["archival_code"]
    today, until = bureau_today(), bureau_today() + timedelta(days=6)
    both = {"dossier": code, "purpose": "benefit_change", "purpose_detail": "核对工资调整", "material_classes": [1, 9],
            "mode": "online_view", "valid_from": today.isoformat(), "valid_until": until.isoformat(),
            "reader_name": "李社保", "reader_citizen_id": READER, "relationship": "none"}  # fmt: skip
    rid = client.post("/api/requests", json=both, headers=login("sibao")).json()["id"]
    warned = client.get(f"/requests/{rid}", headers=login("approver")).text.split('id="unservable"', 1)[1]
    warned = warned.split("</p>", 1)[0]
    assert "第一类" in warned and "第九类" not in warned  # class 1 serves nothing; class 9 its certificate
