"""Hostile and broken files at every upload: each gets a clear error naming the field, nothing crashes,
and nothing is half-stored (no object in the store, no job, no batch)."""

import io
import struct
import zipfile
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from archive_service import adapters, db
from archive_service.config import get_settings
from archive_service.jobs.models import Job
from archive_service.transfers.models import MaterialSupplement, TransferBatch
from tests.archive_service.test_jobs import _first_dossier
from tests.archive_service.test_transfers import as_csv, row


def _tiff() -> bytes:
    out = io.BytesIO()
    Image.new("L", (1200, 1600), 255).save(out, "TIFF", compression="tiff_lzw", dpi=(300, 300))
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1200, 1600), "white").save(out, "JPEG", dpi=(300, 300))
    return out.getvalue()


def _png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A 3.6-gigapixel PNG in a few kilobytes: decompressing it would take gigabytes of memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * (width // 8)
    body = zlib.compress(row * 64, 9)  # only the first rows: enough for a decoder to start
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _zip_named(name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, "x" * 1000)
    return out.getvalue()


SCANS = {
    "truncated.tif": lambda: _tiff()[:2000],
    "truncated.jpg": lambda: _jpeg()[: len(_jpeg()) // 3],
    "bomb.png": _png_bomb,
    "empty.tif": lambda: b"",
    "malformed.pdf": lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer <<>>\n%%EOF",
    "html.pdf": lambda: b"<html><body>not a scan</body></html>",
    "archive.tif": lambda: _zip_named("payload.exe"),
    "program.jpg": lambda: b"MZ\x90\x00" + b"\x00" * 4000,
    "text.png": lambda: "扫描件".encode() * 100,
}


def _nothing_stored() -> None:
    assert list(adapters.open_store(get_settings()).keys()) == []
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        assert session.scalar(select(func.count()).select_from(MaterialSupplement)) == 0


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # file handling does not depend on the database
@pytest.mark.parametrize("name", sorted(SCANS))
def test_hostile_scans_are_refused_at_digitisation_and_supplements(client, login, name):
    archivist = login("archivist")
    with db.get_sessionmaker()() as session:
        dossier = _first_dossier(session)
        code = dossier.archival_code
    data = SCANS[name]()
    r = client.post(
        f"/api/dossiers/{dossier.id}/digitisation", files=[("scans", (name, data, "image/tiff"))], headers=archivist
    )
    assert r.status_code in (413, 422), r.text
    body = r.json()
    assert body["field"] == "scans" and name in body["message"] and body["code"]
    form = {"archival_code": code, "source": "原单位人事处", "class_code": "9", "title": "补充材料", "pages": "1"}
    r = client.post("/api/supplements", data=form, files=[("scans", (name, data, "image/tiff"))], headers=archivist)
    assert r.status_code in (413, 422) and r.json()["field"] == "scans", r.text
    _nothing_stored()


def _enterprise(client, headers) -> int:
    from tests.archive_service.test_transfers_api import enterprise_id

    return enterprise_id(client, headers)


def _batches() -> int:
    with db.get_sessionmaker()() as session:
        return session.scalar(select(func.count()).select_from(TransferBatch))


REGISTERS = {
    "invalid-bytes.csv": (b"\xff\xfe\x80\x81 \xff\x80\n\x80\x80,\xff\n", "file.encoding"),
    "nul.csv": ("姓名,公民身份号码\n张三\x00,1\n".encode(), "file.type"),
    "not-a-zip.xlsx": (b"PK\x03\x04 this is no workbook", None),
    "zip-without-sheet.xlsx": (_zip_named("hello.txt"), None),
    "truncated.xlsx": (None, None),  # filled in below from a real workbook
    "photo.csv": (None, None),
    "dtd-entities.xlsx": (None, "file.type"),  # a billion-laughs DTD and an external entity: never expanded
}


def _with_entities() -> bytes:
    """A register workbook whose sheet declares entities (one expanding tenfold, one reading a file) and uses them."""
    from tests.archive_service.test_transfers import as_xlsx, row

    source = zipfile.ZipFile(io.BytesIO(as_xlsx([row(1, 姓名="PLACEHOLDER")])))
    parts = {info: source.read(info.filename) for info in source.infolist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info, data in parts.items():
            if info.filename == "xl/worksheets/sheet1.xml":
                body = data.decode().split("?>", 1)[-1]
                dtd = (
                    '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY x SYSTEM "file:///etc/passwd">]>'
                )
                data = (dtd + body.replace("PLACEHOLDER", "&b;&x;")).encode()
            target.writestr(info.filename, data)
    return out.getvalue()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", sorted(REGISTERS))
def test_hostile_registers_are_refused_and_no_batch_is_made(client, login, name):
    clerk = login("clerk")
    before = _batches()
    data, code = REGISTERS[name]
    if name == "truncated.xlsx":
        data = client.get("/api/transfers/template.xlsx", headers=clerk).content[:1500]
    if name == "photo.csv":
        data = _jpeg()
    if name == "dtd-entities.xlsx":
        data = _with_entities()
    r = client.post(
        "/api/transfers",
        data={"enterprise_id": _enterprise(client, clerk)},
        files={"file": (name, data, "application/octet-stream")},
        headers=clerk,
    )
    assert r.status_code in (400, 413, 422), r.text
    body = r.json()
    assert body["field"] == "file" and body["message"], body
    if code:
        assert body["code"] == code
    assert _batches() == before


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_huge_registers_are_refused_by_size_and_by_rows(client, login):
    clerk = login("clerk")
    enterprise, before = _enterprise(client, clerk), _batches()
    huge = b"a" * (20 * 1024 * 1024 + 10)
    r = client.post(
        "/api/transfers",
        data={"enterprise_id": enterprise},
        files={"file": ("big.csv", huge, "text/csv")},
        headers=clerk,
    )
    assert r.status_code == 413 and r.json()["field"] == "file"
    many = as_csv([row(1)] * 20_001)
    r = client.post(
        "/api/transfers",
        data={"enterprise_id": enterprise},
        files={"file": ("many.csv", many, "text/csv")},
        headers=clerk,
    )
    assert r.status_code == 422 and r.json()["code"] == "file.too_many_rows"
    assert _batches() == before


# Values a probe typed into register rows (issue 22): each row is refused by row and column, or taken and
# then received, printed and numbered without a server error.
HOSTILE_VALUES = {
    "markup-name": {"姓名": '"><img src="/etc/passwd">'},
    "another-bureaus-fonds": {"档号": "J101-RS-000001"},
    "odd-own-code": {"档号": "J102-RS-ZZZZZZ"},
    "nan-pages": {"页数": "nan"},
    "infinite-volumes": {"卷数": "inf"},
    "huge-count": {"材料份数": "9" * 30},
    "negative-pages": {"页数": "-5"},
    "formula": {"姓名": '=HYPERLINK("http://x")'},
    "control-chars": {"缺失材料": "a\x07b\x1bc", "缺失材料证明": "是"},
    "long-name": {"姓名": "张" * 5000},
}


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test_hostile_register_values_are_refused_by_row_or_handled_without_a_server_error(client, login, name):
    clerk = login("clerk")
    before = _batches()
    sheet = as_csv([row(901, **HOSTILE_VALUES[name]), row(902)])
    r = client.post(
        "/api/transfers", data={"enterprise_id": _enterprise(client, clerk)},
        files={"file": ("名册.csv", sheet, "text/csv")}, headers=clerk,
    )  # fmt: skip
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        body = r.json()
        assert body["field"] == "file" and body["problems"], body
        assert all(p["row"] == 2 and p["column"] in register_headers() for p in body["problems"]), body
        if name == "another-bureaus-fonds":  # named as not this bureau's fonds, not "already used" there
            assert [p["code"] for p in body["problems"]] == ["archival_code.fonds"], body
        assert _batches() == before
        return
    batch = r.json()["id"]
    for key in ("#901", "#902"):
        checked = client.post(f"/api/transfers/{batch}/receive", json={"key": key}, headers=clerk)
        assert checked.status_code in (200, 409, 422), checked.text
        if checked.status_code != 200:
            assert checked.json()["field"] and checked.json()["message"], checked.json()
    # The batch's page, and the next 档号 the bureau gives, still work.
    page = client.get(f"/transfers/{batch}", headers=clerk)
    assert page.status_code == 200 and '<img src="/etc' not in page.text


def register_headers() -> tuple[str, ...]:
    from archive_service.transfers.register import HEADERS

    return HEADERS
