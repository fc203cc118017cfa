"""The OCR engine contract: the same behaviours asked of every adapter behind `digitise/ocr.py`.

Each engine reads real specimen pages (real Tesseract, real PP-OCR models); the pipeline relies on
exactly these behaviours, so a new engine passes here before it may be chosen.
"""

import random
import re

import pytest
from PIL import Image

from digitise import imaging, ocr
from digitise.specimen import draw_page, person

pytestmark = pytest.mark.ocr

# Every reading engine; the cascade is v4 and v6 together (its split is measured by bench/digitise.py), so its
# page tests would only repeat theirs at the suite's expense.
ENGINES = sorted(set(ocr.ENGINES) - {"paddle-cascade"})


@pytest.fixture(scope="module")
def specimen():
    rng = random.Random(20261201)
    who = person(rng)
    page = draw_page(rng, who, seal=True, noise=6.0, lines=5)
    return who, page


def _text(read: ocr.PageRead) -> str:
    return "".join(line.text for line in read.lines)


@pytest.mark.parametrize("name", ENGINES)
def test_engine_names_its_version_and_languages(name):
    engine = ocr.engine(name)
    assert engine.name == name and engine.version()
    assert {"chi_sim", "eng"} <= engine.languages()
    assert ocr.label(name).split()[0] in ("PP-OCR", "Tesseract")


@pytest.mark.parametrize("name", ENGINES)
def test_chinese_lines_come_without_spaces_and_boxes_lie_inside_the_page(name, specimen):
    who, page = specimen
    grey = imaging.ocr_copy(page.image)
    read = ocr.engine(name).read(grey, "chi_sim+eng")
    text = _text(read)
    assert who.name in text and who.citizen_id in re.sub(r"\s", "", text)
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", text)  # no space between two Chinese characters
    for line in read.lines:
        assert 0 <= line.left and 0 <= line.top and line.width > 0 and line.height > 0
        assert line.left + line.width <= grey.width and line.top + line.height <= grey.height
        assert 0 <= line.confidence <= 100
    # Reading order: the name line comes before the date of birth, which is printed below it.
    order = [next(i for i, ln in enumerate(read.lines) if key in ln.text) for key in (who.name, "日期")]
    assert order[0] < order[1] and read.lines[order[0]].top < read.lines[order[1]].top
    assert read.turn == 0 and ocr.confidence(read.lines) >= ocr.LOW_CONFIDENCE


@pytest.mark.parametrize("name", ENGINES)
def test_upside_down_page_is_reported_turned(name, specimen):
    _, page = specimen
    upside_down = imaging.ocr_copy(page.image.rotate(180))
    read = ocr.engine(name).read(upside_down, "chi_sim+eng")
    assert read.turn == 180 and read.turn_confidence > 0


@pytest.mark.parametrize("name", ENGINES)
def test_blank_page_gives_no_text(name):
    blank = draw_page(random.Random(5), person(random.Random(5)), blank=True, noise=6.0)
    assert _text(ocr.engine(name).read(imaging.ocr_copy(blank.image), "chi_sim+eng")) == ""


@pytest.mark.parametrize("name", ENGINES)
def test_seal_over_text_is_not_read_as_text(name, specimen):
    """The seal reads 劳动工资科 in red: the OCR copy drops red, so no engine sees it."""
    _, page = specimen
    assert page.has_seal
    text = _text(ocr.engine(name).read(imaging.ocr_copy(page.image), "chi_sim+eng"))
    assert "工资科" not in text and "劳动工" not in text


def test_sideways_page_is_reported_by_the_engine_that_can_tell():
    """PP-OCR tells a page lying on its side from its line boxes and direction classifier."""
    page = draw_page(random.Random(9), person(random.Random(9)), seal=False, lines=8)
    for degrees_clockwise, turn_back in ((90, 270), (270, 90)):
        lying = page.image.rotate(-degrees_clockwise, expand=True)
        read = ocr.engine("paddle").read(imaging.ocr_copy(lying), "chi_sim")
        assert read.turn == turn_back and read.turn_confidence > 50
        # imaging.turn by that turn brings the page upright: it then reads with its title on top
        upright = imaging.turn(lying, read.turn)
        again = ocr.engine("paddle").read(imaging.ocr_copy(upright), "chi_sim")
        assert again.turn == 0 and page.title in again.lines[0].text


def test_unknown_engine_and_language_are_refused_by_name():
    with pytest.raises(ValueError, match="abbyy"):
        ocr.engine("abbyy")
    with pytest.raises(ValueError, match="jpn"):
        ocr.engine("paddle").read(Image.new("L", (100, 100), 255), "jpn")


def test_default_engine_reads_the_four_facts_on_a_kai_ruled_carbon_copy():
    """The page Tesseract fails on (bench/digitise.py): 楷体 in ruled cells, printed pale through carbon."""
    from digitise.facts import extract

    rng = random.Random(44)
    who = person(rng)
    page = draw_page(rng, who, typeface="kai", grid=True, faint=True, seal=True, lines=4, skew=0.0)
    read = ocr.engine(ocr.DEFAULT_ENGINE).read(imaging.ocr_copy(page.image), "chi_sim")
    facts = extract("\n".join(line.text for line in read.lines))
    assert facts.citizen_ids == [who.citizen_id] and facts.names == [who.name]
    assert facts.birth_dates == [who.birth_date.isoformat()] and facts.work_start_dates == [f"{who.work_start:%Y-%m}"]
