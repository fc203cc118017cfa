"""What the scanning room sends us: every format, every kind of broken file, and the hard QC stops.

Blank sheets need no OCR, so these run fast; the pipeline treats them like any other page.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pikepdf
import pytest
from PIL import Image

from digitise.catalogue import Catalogue, CatalogueEntry
from digitise.options import DigitiseOptions
from digitise.pipeline import digitise
from digitise.sources import pages_of

CLI = [sys.executable, "-m", "digitise.cli"]


def run(files, tmp_path, **options):
    out = tmp_path / "out.pdf"
    return digitise(files, out, DigitiseOptions(jobs=1, **options), sidecar=tmp_path / "out.json"), out


def by_code(result):
    return {f.code: f for f in result.findings}


def test_every_input_format_is_read(blank_scan, tmp_path):
    tiff = blank_scan("a.tif")
    png = blank_scan("b.png")
    jpeg = blank_scan("c.jpg")
    g4 = tmp_path / "d.tif"
    frames = [Image.open(blank_scan(f"g{i}.png")).convert("1") for i in range(2)]
    frames[0].save(g4, compression="group4", save_all=True, append_images=frames[1:], dpi=(300, 300))
    raw = tmp_path / "e.tif"
    Image.open(png).save(raw, compression="raw", dpi=(300, 300))
    pdf = tmp_path / "f.pdf"
    Image.open(jpeg).convert("RGB").save(pdf, resolution=300)
    result, out = run([tiff, png, jpeg, g4, raw, pdf], tmp_path)
    assert result.written, result.findings
    assert [p.source for p in result.pages] == ["a.tif", "b.png", "c.jpg", "d.tif", "d.tif", "e.tif", "f.pdf"]
    assert result.pages[3].source_mode == "bilevel" and result.pages[3].source_bit_depth == 1
    assert abs(result.pages[6].dpi - 300) < 1  # a PDF's resolution comes from its page size
    with pikepdf.open(out) as doc:
        assert len(doc.pages) == 7


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda p: p.write_bytes(b""), "input.empty"),
        (lambda p: p.write_bytes(b"II*\x00" + b"\x00" * 40), "input.corrupt"),
        (lambda p: p.write_text("not an image"), "input.corrupt"),
    ],
    ids=["zero-byte", "broken-tiff-header", "text-file"],
)
def test_unreadable_files_are_named_and_the_rest_still_processed(blank_scan, tmp_path, make, code):
    good = blank_scan("good.tif")
    bad = tmp_path / "bad.tif"
    make(bad)
    result, out = run([good, bad], tmp_path)
    finding = by_code(result)[code]
    assert finding.source == "bad.tif" and finding.severity == "error"
    assert not re.search(r"[A-Za-z]{3,}", finding.message.replace("PDF", "")), finding.message
    assert [p.source for p in result.pages] == ["good.tif"]  # the good file was still processed
    assert not result.written and not out.exists()


def test_truncated_tiff_is_reported_per_page(blank_scan, tmp_path):
    whole = blank_scan("whole.tif")
    cut = tmp_path / "cut.tif"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    result, out = run([whole, cut], tmp_path)
    assert "input.corrupt" in by_code(result) and by_code(result)["input.corrupt"].source == "cut.tif"
    assert not out.exists()
    # The decoder's own words (English) stay out of what the clerk reads.
    assert not re.search(r"[A-Za-z]{3,}", by_code(result)["input.corrupt"].message.replace("PDF", ""))


def test_a_damaged_pdf_is_named_in_the_clerks_words(blank_scan, tmp_path):
    """It quoted qpdf: "PDF 文件损坏：/tmp/…/bad.pdf: unable to find trailer dictionary…" — English, and the
    server's own path."""
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 broken")
    result, _ = run([blank_scan("good.tif"), bad], tmp_path)
    finding = by_code(result)["input.corrupt"]
    assert finding.source == "bad.pdf" and str(tmp_path) not in finding.message
    assert not re.search(r"[A-Za-z]{3,}", finding.message.replace("PDF", "")), finding.message


def test_decompression_bomb_is_refused_without_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)  # 400 MP, a few kB on disk
    result, _ = run([bomb], tmp_path, max_image_pixels=50_000_000)
    assert by_code(result)["input.too_large"].source == "bomb.png"


def test_encrypted_pdf_is_refused(blank_scan, tmp_path):
    plain = tmp_path / "plain.pdf"
    Image.open(blank_scan("x.png")).convert("RGB").save(plain, resolution=300)
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(owner="owner", user=""))
    result, _ = run([locked], tmp_path)
    assert by_code(result)["input.encrypted"].source == "locked.pdf"


def test_resolution_below_minimum_stops_the_dossier(blank_scan, tmp_path):
    result, out = run([blank_scan("low.tif", dpi=150)], tmp_path)
    finding = by_code(result)["resolution.below_minimum"]
    assert finding.measured == 150 and finding.rule == 200 and finding.page == 1
    assert not result.written and not out.exists()
    card = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert card["status"] == "failed" and "output" not in card


def test_resolution_below_recommended_is_a_warning(blank_scan, tmp_path):
    result, out = run([blank_scan("mid.tif", dpi=240)], tmp_path)
    assert by_code(result)["resolution.below_recommended"].severity == "warning"
    assert result.written and out.exists()


def test_page_count_mismatch_stops_the_dossier_and_keeps_finished_pages(blank_scan, tmp_path):
    files = [blank_scan("p1.tif"), blank_scan("p2.tif")]
    catalogue = Catalogue("J102-RS-000001", (CatalogueEntry("1-1", "1", "第一类", "登记表", 3),))
    result, out = run(files, tmp_path, catalogue=catalogue)
    finding = by_code(result)["page_count.mismatch"]
    assert finding.rule == {"catalogue_total": 3} and finding.measured["scanned"] == 2
    assert not out.exists()
    assert (tmp_path / "out.pdf.work" / "0001.json").exists()  # a corrected catalogue will not redo the pages


def test_cli_exit_codes_and_report(blank_scan, tmp_path):
    ok = subprocess.run(
        [*CLI, str(blank_scan("a.tif")), "-o", str(tmp_path / "a.pdf"), "-j", "1"], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "已生成" in ok.stderr and (tmp_path / "a.pdf").exists()
    bad = subprocess.run(
        [*CLI, str(blank_scan("b.tif", dpi=100)), "-o", str(tmp_path / "b.pdf")], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "resolution.below_minimum" in bad.stderr and "低于最低要求 200 dpi" in bad.stderr
    assert not (tmp_path / "b.pdf").exists()


def test_cli_rejects_a_broken_catalogue(blank_scan, tmp_path):
    cat = tmp_path / "cat.json"
    cat.write_text(
        json.dumps(
            {
                "archival_code": "J1-RS-1",
                "materials": [{"sequence": "1-1", "class_code": "1", "title": "表", "pages": 0}],
            }
        )
    )
    r = subprocess.run(
        [*CLI, str(blank_scan("a.tif")), "-o", str(tmp_path / "a.pdf"), "--catalogue", str(cat)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "catalogue.materials[1].pages" in r.stderr


def test_pages_of_counts_frames(blank_scan, tmp_path):
    multi = tmp_path / "m.tif"
    frames = [Image.open(blank_scan(f"f{i}.png")) for i in range(3)]
    frames[0].save(multi, save_all=True, append_images=frames[1:], compression="tiff_lzw")
    assert [p.frame for p in pages_of(multi, 10**9)] == [0, 1, 2]


@pytest.mark.ocr
@pytest.mark.parametrize("engine", ["paddle", "tesseract"])
def test_killed_run_resumes_without_redoing_pages_or_leaving_a_half_pdf(tmp_path, engine):
    """kill -9 in the middle, run again: finished pages are reused and OUT.pdf appears only whole;
    the same pages resumed with the other engine are all read again (a use copy never mixes engines)."""
    import random

    from digitise.specimen import draw_page, person, save_scan

    rng = random.Random(7)
    who = person(rng)
    files = [save_scan(draw_page(rng, who, seal=False, lines=5), tmp_path / f"s{i}.tif") for i in range(4)]
    out = tmp_path / "dossier.pdf"
    command = [
        *CLI,
        *map(str, files),
        "-o",
        str(out),
        "-j",
        "1",
        "--engine",
        engine,
        "--lang",
        "chi_sim",
        "--sidecar",
        str(tmp_path / "d.json"),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    work = tmp_path / "dossier.pdf.work"
    deadline = time.time() + 120
    while time.time() < deadline and not (work / "0002.json").exists():
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (work / "0001.json").exists() and (work / "0002.json").exists()
    assert not out.exists()
    other = "tesseract" if engine == "paddle" else "paddle"
    mixed_work = tmp_path / "other-engine.work"
    shutil.copytree(work, mixed_work)
    mixed = [*command[:-2], "--sidecar", str(tmp_path / "other.json"), "--work-dir", str(mixed_work)]
    mixed[mixed.index("--engine") + 1] = other
    mixed[mixed.index("-o") + 1] = str(tmp_path / "other.pdf")
    assert subprocess.run(mixed, capture_output=True, text=True).returncode == 0
    other_card = json.loads((tmp_path / "other.json").read_text(encoding="utf-8"))
    assert other_card["run"]["pages_resumed"] == 0 and other_card["run"]["software"]["ocr_engine"] == other
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    card = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert card["run"]["pages_resumed"] >= 2 and card["run"]["software"]["ocr_engine"] == engine
    assert "沿用上次中断前的结果" in again.stderr
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 4
    assert not work.exists()
    assert not list(tmp_path.glob(".dossier.pdf*"))  # no temporary PDF left beside it


def test_more_pages_than_one_run_takes_are_refused_before_any_page_is_worked_on(blank_scan, tmp_path):
    """Issue 40 High 6: a 50,000-page PDF was worked on at 1.2 s a page before anything counted its pages."""
    files = [blank_scan("p1.tif"), blank_scan("p2.tif"), blank_scan("p3.tif")]
    result, out = run(files, tmp_path, max_pages=2)
    finding = by_code(result)["pages.too_many"]
    assert finding.severity == "error" and "3 页" in finding.message and "上限 2 页" in finding.message
    assert result.pages == [] and not result.written and not out.exists()
    assert not list((tmp_path / "out.pdf.work").glob("*.json"))  # no page was worked on


def _tiny_frames_tiff(
    path,
    frames: int,
    size: tuple[int, int] = (8, 8),
    pixels: bytes = b"\x00" * 8,
    compression: int = 1,
    last_dpi: int = 300,
) -> None:
    """The probe's file: `frames` bilevel pages (8×8 unless said) at 300 dpi (the last at `last_dpi`), every
    page's directory pointing at one shared strip (Pillow's own writer appends frames in quadratic time: 90 s for
    5,000)."""
    import struct

    pixels += b"\x00" * (len(pixels) % 2)  # the rational after them starts on a word boundary
    strip, resolution = 8, 8 + len(pixels)  # offsets: the pixels after the header, then 300/1 as a rational
    # width, height, bits, compression, white is zero, strip offset, rows per strip, strip bytes, x and y
    # resolution, in inches: (tag, type 3 short / 4 long / 5 rational, count, value or offset)
    entries = [
        (256, 3, 1, size[0]),
        (257, 3, 1, size[1]),
        (258, 3, 1, 1),
        (259, 3, 1, compression),
        (262, 3, 1, 0),
        (273, 4, 1, strip),
        (278, 3, 1, size[1]),
        (279, 4, 1, len(pixels)),
        (282, 5, 1, resolution),
        (283, 5, 1, resolution),
        (296, 3, 1, 2),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    first_ifd = resolution + 16
    rationals = struct.pack("<IIII", 300, 1, last_dpi, 1)
    out = bytearray(b"II*\x00" + struct.pack("<I", first_ifd) + pixels + rationals)
    for n in range(frames):
        at = first_ifd + n * ifd_size
        following = at + ifd_size if n + 1 < frames else 0
        out += struct.pack("<H", len(entries))
        for tag, kind, count, value in entries:
            if kind == 5 and n + 1 == frames:
                value += 8
            out += struct.pack("<HHI", tag, kind, count) + (
                struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
            )
        out += struct.pack("<I", following)
    path.write_bytes(bytes(out))


def test_the_upload_check_reads_a_many_framed_tiff_in_one_pass_and_refuses_too_many(tmp_path, monkeypatch):
    """Issue 40 High 4: a 1 MB TIFF of 5,000 tiny frames held a request thread at 100 % CPU for over 20 minutes —
    the check reopened the file and sought from its start for every frame. Now: counted first and refused over
    the limit before anything is decoded; under it, each file opened for counting and once for decoding."""
    from archive_service.errors import ArchiveError
    from archive_service.uploads import scan_frames
    from digitise import sources

    many = tmp_path / "多帧.tif"
    _tiny_frames_tiff(many, 5000)
    assert many.stat().st_size < 2_000_000
    with pytest.raises(ArchiveError) as refused:
        scan_frames([many])
    assert refused.value.code == "pages.too_many" and refused.value.field == "scans"
    assert "5,000 页" in refused.value.message and "3,000" in refused.value.message

    opened = []
    real_open = sources._open_image
    monkeypatch.setattr(sources, "_open_image", lambda path, mp: opened.append(path) or real_open(path, mp))
    fewer = tmp_path / "三百帧.tif"
    _tiny_frames_tiff(fewer, 300)
    assert scan_frames([fewer]) == 300
    assert len(opened) == 2  # counted, then decoded frame after frame — not 300 openings


def test_the_upload_check_decodes_for_seconds_then_reads_headers_only(tmp_path, monkeypatch):
    """Issue 40 High 4, the rest: 3,000 frames (the page limit) of A3 at 600 dpi, white, G4-compressed — a 450 KB
    file — took the request about 8 minutes to decode (0.17 s a frame measured). The request decodes for
    `DECODE_SECONDS` (here 1 s), then reads the frames' headers: a resolution below the standard is still
    refused there, by page; the job decodes every page."""
    import io
    import time

    from PIL import Image, TiffImagePlugin

    from archive_service import uploads
    from archive_service.errors import ArchiveError

    monkeypatch.setattr(TiffImagePlugin, "STRIP_SIZE", 1 << 30)  # the page in one strip
    one = io.BytesIO()
    Image.new("1", (7016, 9920), 1).save(one, format="TIFF", compression="group4")
    page = Image.open(one)
    one.seek(page.tag_v2[273][0])
    g4 = one.read(page.tag_v2[279][0])
    large = tmp_path / "三千页.tif"
    _tiny_frames_tiff(large, 3000, size=(7016, 9920), pixels=g4, compression=4)
    assert large.stat().st_size < 600_000
    monkeypatch.setattr(uploads, "DECODE_SECONDS", 1.0)
    started = time.monotonic()
    assert uploads.scan_frames([large]) == 3000
    assert time.monotonic() - started < 30  # decoding them all: ~500 s

    # A header that says 150 dpi on the last page is refused though that page is not decoded.
    low = tmp_path / "低分辨率.tif"
    _tiny_frames_tiff(low, 3000, size=(7016, 9920), pixels=g4, compression=4, last_dpi=150)
    with pytest.raises(ArchiveError) as refused:
        uploads.scan_frames([low])
    assert refused.value.code == "resolution.below_minimum" and "第 3000 页" in refused.value.message


def test_the_upload_check_decodes_scans_in_a_process_of_its_own(tmp_path, monkeypatch):
    """Issue 40 (medium): a 144-megapixel scan (under the 150-megapixel limit) grew the web server by 1.1 GB when
    the upload check decoded it there, and the server kept the memory (bench/scan_memory.py measures it). The check
    decodes in a child process now: with the server process's own decoding made to fail, a scan truncated inside
    its image data is still refused by name as undecodable — by the child — and the whole scan is accepted."""
    import io

    from PIL import ImageFile, TiffImagePlugin

    from archive_service.errors import ArchiveError
    from archive_service.uploads import scan_frames

    page = Image.effect_noise((1200, 900), 60).convert("RGB")
    whole = tmp_path / "整页.tif"
    page.save(whole, "TIFF", dpi=(300, 300))  # uncompressed: its header comes first, cut with the data after it
    data = whole.read_bytes()
    cut = tmp_path / "截断.tif"
    cut.write_bytes(data[: len(data) * 2 // 3])
    jpeg = io.BytesIO()
    page.save(jpeg, "JPEG", dpi=(300, 300))
    cut_jpeg = tmp_path / "截断.jpg"
    cut_jpeg.write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])

    def decoded_here(image):
        raise AssertionError(f"{image} decoded in the server's own process")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded_here)
    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "load", decoded_here)
    assert scan_frames([whole]) == 1
    for damaged in (cut, cut_jpeg):
        with pytest.raises(ArchiveError) as refused:
            scan_frames([whole, damaged])
        assert refused.value.code == "input.corrupt" and refused.value.field == "scans"
        assert refused.value.message == f"{damaged.name}：第 1 帧无法解码（文件损坏或不完整）"


def _pdf_with_one_image(path, **image):
    """A one-page PDF drawing one 10×10 grey image, with the image dictionary's entries replaced by `image`
    (None removes one): the damaged scans a probe sends."""
    pdf = pikepdf.new()
    picture = pikepdf.Stream(pdf, b"\x80" * 100)
    entries = {"Type": pikepdf.Name.XObject, "Subtype": pikepdf.Name.Image, "Width": 10, "Height": 10,
               "BitsPerComponent": 8, "ColorSpace": pikepdf.Name.DeviceGray} | image  # fmt: skip
    for key, value in entries.items():
        if value is not None:
            picture[f"/{key}"] = value
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 595, 842],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=picture)),
        Contents=pikepdf.Stream(pdf, b"q 595 0 0 842 0 0 cm /Im0 Do Q"),
    )
    pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)
    return path


@pytest.mark.parametrize(
    "damage", [{"Width": None}, {"Width": pikepdf.String("十")}, {"Height": 0}], ids=["no width", "text", "zero"]
)
def test_a_pdf_whose_scan_has_no_readable_size_is_refused_on_arrival_and_named_by_the_pipeline(tmp_path, damage):
    """Issue 40 (Low): malformed PDFs were accepted, then failed their job five times with a KeyError or a type
    error. The upload check reads each page's image size and page box; the pipeline names the page."""
    from archive_service.errors import ArchiveError
    from archive_service.uploads import scan_frames

    damaged = _pdf_with_one_image(tmp_path / "损坏.pdf", **damage)
    with pytest.raises(ArchiveError) as refused:
        scan_frames([damaged])
    assert refused.value.code == "input.corrupt" and refused.value.message.startswith("损坏.pdf：第 1 页")
    result, out = run([damaged], tmp_path)
    assert by_code(result)["input.corrupt"].page == 1 and not out.exists()
