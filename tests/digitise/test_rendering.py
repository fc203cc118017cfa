"""The use copy looks like the scans: every page rendered by Poppler and compared with its source,
for each compression path the colour rule can choose (CCITT G4, grey JPEG, colour JPEG)."""

import json
import random

import pytest

from digitise.options import DigitiseOptions
from digitise.pipeline import digitise
from digitise.specimen import draw_page, person, save_scan
from tests.rendering import assert_pages_look_like, likeness, render

pytestmark = pytest.mark.ocr


@pytest.fixture(scope="module")
def three_paths(tmp_path_factory):
    rng = random.Random(20261130)
    who = person(rng)
    pages = [
        draw_page(rng, who, seal=False, noise=0, lines=5),  # clean black print: G4
        draw_page(rng, who, blank=True),  # a blank back: G4, must stay white
        draw_page(rng, who, seal=False, photo=True, lines=5),  # faded grey print (made below): grey JPEG
        draw_page(rng, who, seal=True, lines=4, upside_down=True),  # red seal, fed upside down: colour JPEG
    ]
    pages[2].image = pages[2].image.convert("L").point(lambda v: 75 + v * 0.7)
    folder = tmp_path_factory.mktemp("render")
    files = [save_scan(p, folder / f"scan-{i + 1}.tif") for i, p in enumerate(pages)]
    digitise(files, folder / "copy.pdf", DigitiseOptions(jobs=2), sidecar=folder / "copy.json")
    card = json.loads((folder / "copy.json").read_text(encoding="utf-8"))
    return pages, card, folder / "copy.pdf"


def test_each_compression_path_is_exercised(three_paths):
    _, card, _ = three_paths
    assert [p["compression"] for p in card["pages"]] == ["CCITT G4", "CCITT G4", "JPEG", "JPEG"]
    assert [p["colour_mode"] for p in card["pages"]] == ["bilevel", "bilevel", "grey", "colour"]


def test_every_page_renders_like_its_scan(three_paths):
    pages, card, pdf = three_paths
    rendered = assert_pages_look_like(pdf, [p.image for p in pages], [p["rotation"] for p in card["pages"]])
    # The blank back is paper, not a black sheet (its edge keeps a strip of the scanner lid, by design);
    # printed pages are mostly paper with dark text.
    w, h = rendered[1].size
    assert min(rendered[1].crop((w // 10, h // 10, w - w // 10, h - h // 10)).getdata()) > 200
    for image in rendered:
        assert sum(image.getdata()) / (image.width * image.height) > 180


def test_the_comparison_sees_a_negative(three_paths):
    """The check itself: an inverted page (the defect of pipeline 1.0) is told apart from the scan."""
    from PIL import ImageOps

    pages, _, pdf = three_paths
    page = render(pdf)[0]
    assert likeness(page, pages[0].image).alike
    found = likeness(ImageOps.invert(page), pages[0].image)
    assert not found.alike and found.tone_difference < -150
