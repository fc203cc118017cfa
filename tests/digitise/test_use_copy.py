"""The use copy at 200 dpi (pipeline 1.8): colour and grey pages drawn from fewer pixels, bilevel pages as they
were, every page at its physical size; the text layer still over its ink, before and after a 校对 correction is
written in; and a 校对 crop showing the region it showed when the image had the page's pixels."""

import json
import random
import re
import subprocess
from datetime import UTC, datetime

import numpy as np
import pikepdf
import pytest
from PIL import Image

from archive_service.verification.service import region_of
from digitise import imaging
from digitise.options import DigitiseOptions
from digitise.pdf import TextLine, replace_text_layer
from digitise.pipeline import digitise
from digitise.specimen import draw_page, person, save_scan
from tests.rendering import render

pytestmark = pytest.mark.ocr

RENDER_DPI = 100


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """Colour, grey and clean black pages through the pipeline, and the colour and grey pages again with the
    use copy at the page's own pixels (pipeline 1.7's use copy: the master's pixels)."""
    rng = random.Random(20261207)
    who = person(rng)
    pages = [
        draw_page(rng, who, seal=True, lines=6),  # red seal: colour JPEG
        draw_page(rng, who, seal=False, photo=True, lines=6),  # faded grey print (made below): grey JPEG
        draw_page(rng, who, seal=False, noise=0, lines=6),  # clean black print: G4
    ]
    pages[1].image = pages[1].image.convert("L").point(lambda v: 75 + v * 0.7)
    folder = tmp_path_factory.mktemp("use-copy")
    files = [save_scan(p, folder / f"scan-{i + 1}.tif") for i, p in enumerate(pages)]
    digitise(files, folder / "copy.pdf", DigitiseOptions(jobs=2), sidecar=folder / "copy.json")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(imaging, "USE_COPY_DPI", 10_000)  # never lower: each image has the page's pixels
        digitise(files[:2], folder / "full.pdf", DigitiseOptions(jobs=1), sidecar=folder / "full.json")
    card = json.loads((folder / "copy.json").read_text(encoding="utf-8"))
    full = json.loads((folder / "full.json").read_text(encoding="utf-8"))
    return card, full, folder


def _images(pdf_path) -> list[Image.Image]:
    with pikepdf.open(pdf_path) as pdf:
        return [pikepdf.PdfImage(next(iter(p.get_images().values()))).as_pil_image().convert("RGB") for p in pdf.pages]


def test_colour_and_grey_pages_are_at_200_dpi_and_keep_their_size(copies):
    card, full, folder = copies
    assert [p["colour_mode"] for p in card["pages"]] == ["colour", "grey", "bilevel"]
    images = _images(folder / "copy.pdf")
    for page, image in zip(card["pages"], images, strict=True):
        assert page["dpi"] == 300
        if page["colour_mode"] == "bilevel":
            assert image.size == (page["width"], page["height"]) == (page["image_width"], page["image_height"])
        else:
            expected = (round(page["width"] * 200 / 300), round(page["height"] * 200 / 300))
            assert image.size == expected == (page["image_width"], page["image_height"])
    with pikepdf.open(folder / "copy.pdf") as pdf:
        for page, pdf_page in zip(card["pages"], pdf.pages, strict=True):  # printed at the sheet's size
            box = [float(v) for v in pdf_page.MediaBox]
            assert box[2] == pytest.approx(page["width"] * 72 / 300, abs=0.01)
            assert box[3] == pytest.approx(page["height"] * 72 / 300, abs=0.01)
    sizes = {p: (folder / f"{p}.pdf").stat().st_size for p in ("copy", "full")}
    assert sizes["copy"] < sizes["full"]  # with a bilevel page more, still smaller


def _word_boxes(pdf, page: int) -> list[tuple[str, float, float, float, float]]:
    """(word, xMin, yMin, xMax, yMax) in PDF points of the page's text layer, as Poppler reads it."""
    layout = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', layout)
    return [(w, float(a), float(b), float(c), float(d)) for a, b, c, d, w in found]


def _assert_words_over_ink(pdf, pages: list[int]) -> None:
    """Every word of the text layer lies over ink on the rendered page; over all words, far more ink than in the
    same boxes at 2/3 of their place (where a layer scaled by the image's pixels, 2/3 of the page's, would lie)."""
    rendered = render(pdf, RENDER_DPI)
    for n in pages:
        ink = np.asarray(rendered[n - 1]) < 160
        words = [w for w in _word_boxes(pdf, n) if len(w[0]) >= 2]
        assert len(words) >= 5, (n, words)
        scale = RENDER_DPI / 72
        over, elsewhere = [], []
        for word, x0, y0, x1, y1 in words:
            foot = y0 + (y1 - y0) / 1.35  # Poppler adds 0.35 em of descent below the glyph box
            box = [round(v * scale) for v in (x0, y0, x1, foot)]
            over.append(ink[box[1] : box[3], box[0] : box[2]].mean())
            assert over[-1] > 0.04, (n, word, over[-1])
            shrunk = [round(v * 2 / 3) for v in box]
            elsewhere.append(ink[shrunk[1] : shrunk[3], shrunk[0] : shrunk[2]].mean())
        assert np.mean(over) > 2 * np.mean(elsewhere), (n, np.mean(over), np.mean(elsewhere))


def test_the_text_layer_lies_over_its_ink(copies):
    _, _, folder = copies
    _assert_words_over_ink(folder / "copy.pdf", [1, 2, 3])


def test_a_text_layer_written_anew_lies_over_its_ink(copies, tmp_path):
    """校对 writes corrected text into the copy (replace_text_layer): its lines are in page pixels, and the
    colour and grey pages' images have fewer pixels than the page."""
    card, _, folder = copies
    layers = {
        p["page"]: [
            TextLine(f"改{ln['text']}", x0, y0, x1 - x0, y1 - y0) for ln in p["lines"] for x0, y0, x1, y1 in [ln["box"]]
        ]
        for p in card["pages"]
    }
    widths = {p["page"]: p["width"] for p in card["pages"]}
    out = tmp_path / "corrected.pdf"
    replace_text_layer(folder / "copy.pdf", layers, widths, datetime(2026, 12, 7, 20, 0, tzinfo=UTC), out)
    assert "改" in subprocess.run(["pdftotext", str(out), "-"], check=True, capture_output=True, text=True).stdout
    _assert_words_over_ink(out, [1, 2, 3])


def _coarse(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L").resize((24, 6), Image.Resampling.BOX), dtype=float)


def test_a_proofreading_crop_shows_the_region_it_showed_at_full_size(copies):
    """The crop of every fact value on the colour and grey pages, from the 200 dpi image, against the crop of
    the same box from the image with the page's pixels: same size, same picture (coarse pixels)."""
    card, full, folder = copies
    small, large = _images(folder / "copy.pdf"), _images(folder / "full.pdf")
    compared, told_apart = 0, 0
    for n in (0, 1):
        page, before = card["pages"][n], full["pages"][n]
        assert [ln["box"] for ln in page["lines"]] == [ln["box"] for ln in before["lines"]]  # OCR on the master
        assert large[n].size == (page["width"], page["height"]) and small[n].size != large[n].size
        size = (page["width"], page["height"])
        boxes = [tuple(f["box"]) for f in page["facts"]] + [tuple(ln["box"]) for ln in page["lines"][:8]]
        for box in boxes:
            now, then = region_of(small[n], box, size), region_of(large[n], box, size)
            assert now.size == then.size
            difference = np.abs(_coarse(now) - _coarse(then)).mean()
            assert difference < 6, (n, box, difference)
            # …and not merely any piece of the page: the box moved by its own height differs.
            x0, y0, x1, y1 = box
            moved = region_of(large[n], (x0, y0 + (y1 - y0), x1, y1 + (y1 - y0)), size)
            compared += 1
            told_apart += np.abs(_coarse(now) - _coarse(moved)).mean() > 2 * difference
    assert compared >= 10 and told_apart >= 0.9 * compared, (compared, told_apart)
