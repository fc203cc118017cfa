"""Handwritten files (issue 39): forms filled in by hand read by PP-OCRv6, a bureau's own model folder
checked by its sums, traditional forms written simplified, the form found by its printed title, colour
kept for coloured ink, and a date digit rewritten in another ink flagged — with pages the tests draw."""

import json
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitise import alterations, models
from digitise.chinese_forms import simplified
from digitise.citizen_id import is_valid
from digitise.facts import LocatedFact, extract
from digitise.models import ModelFolderError, bureau_models
from digitise.ocr import OcrLine, OcrWord
from digitise.readings import corrected
from digitise.specimen import person
from digitise.specimen_hand import INKS, draw_hand_page, id15
from tests.rendering import assert_pages_look_like, render


def test_traditional_forms_are_written_simplified_keeping_zero_and_names_rare_characters():
    assert simplified("出生時間：一九五〇年陸月") == "出生时间：一九五〇年陆月"
    assert simplified("劉華 參加工作時間 年齡") == "刘华 参加工作时间 年龄"
    assert simplified("李昇 於勇 乾坤 堃 喆") == "李昇 於勇 乾坤 堃 喆"  # name characters and GB 2312 kept as written


def test_a_15_digit_id_is_read_and_compared_as_the_18_character_id_it_became():
    who = person(random.Random(3))
    old = id15(who)
    found = extract(f"身份证号码：{old} 姓名：{who.name}")
    assert found.citizen_ids == [old] and found.invalid_ids == []
    from digitise.catalogue import RetireeFacts
    from digitise.facts import compare

    assert compare(1, found, RetireeFacts(who.name, who.citizen_id)) == []


def _folder_like_v6(tmp_path: Path) -> Path:
    """A bureau's folder: the v6 small files (links, not 30 MB copies), a character list, their sums."""
    folder = tmp_path / "models"
    folder.mkdir()
    small = models.v6_small()
    for src, name in ((small.det, "PP-OCRv6_det_small.onnx"), (small.rec, "PP-OCRv6_rec_small.onnx")):
        (folder / name).symlink_to(src)
    sums = subprocess.run(["sha256sum", *sorted(p.name for p in folder.iterdir())], cwd=folder, capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    (folder / models.MANIFEST).write_text(sums)
    return folder


def test_a_model_folder_whose_sum_differs_is_refused_by_name(tmp_path):
    folder = _folder_like_v6(tmp_path)
    found = bureau_models(folder)
    assert found.rec.name == "PP-OCRv6_rec_small.onnx" and found.version == "PP-OCRv6"
    manifest = folder / models.MANIFEST
    good = manifest.read_text()
    manifest.write_text(good.replace(good[:8], "00000000", 1))  # the det file's sum, changed
    with pytest.raises(ModelFolderError, match="PP-OCRv6_det_small.onnx 的 SHA-256 与校验清单不符"):
        bureau_models(folder)
    manifest.write_text("\n".join(line for line in good.splitlines() if "rec" not in line))
    with pytest.raises(ModelFolderError, match="PP-OCRv6_rec_small.onnx 不在校验清单"):
        bureau_models(folder)
    manifest.unlink()
    with pytest.raises(ModelFolderError, match="缺少校验清单 SHA256SUMS"):
        bureau_models(folder)


def test_the_command_refuses_a_model_folder_with_a_wrong_sum_in_chinese(tmp_path, blank_scan):
    folder = _folder_like_v6(tmp_path)
    sums = (folder / models.MANIFEST).read_text()
    (folder / models.MANIFEST).write_text(("0" if sums[0] != "0" else "1") + sums[1:])  # the first file's sum
    run = subprocess.run(
        [shutil.which("digitise") or ".venv/bin/digitise", str(blank_scan("a.tif")), "-o", str(tmp_path / "o.pdf"),
         "--engine", "paddle6", "--models", str(folder)],
        capture_output=True, text=True,
    )  # fmt: skip
    said = run.stdout + run.stderr
    assert run.returncode == 2 and "--models：模型文件 PP-OCRv6_det_small.onnx 的 SHA-256 与校验清单不符" in said
    assert not (tmp_path / "o.pdf").exists()


def _value(draw: ImageDraw.ImageDraw, y: int, inks: list[tuple[int, int, int]]) -> None:
    """Glyph-like marks from x = 100, each in its ink, as a written value."""
    for i, ink in enumerate(inks):
        left = 100 + i * 60
        draw.line((left, y + 10, left + 30, y + 10), fill=ink, width=5)
        draw.line((left + 15, y, left + 15, y + 50), fill=ink, width=5)
        draw.line((left, y + 35, left + 35, y + 50), fill=ink, width=4)


def test_a_glyph_in_another_ink_flags_its_value_and_one_ink_or_a_printed_rule_does_not():
    paper, blue, brown = (228, 210, 170), (40, 50, 110), (110, 60, 30)
    page = Image.new("RGB", (600, 200), paper)
    draw = ImageDraw.Draw(page)
    _value(draw, 15, [blue, blue, brown, blue, blue])  # the third glyph rewritten in brown
    _value(draw, 115, [blue] * 5)  # one pen throughout …
    draw.line((92, 100, 92, 199), fill=(20, 20, 20), width=4)  # … beside the form's black cell rule

    def fact(kind, y):
        return LocatedFact(kind, "1957-06-13", "", (0,), (88, y, 420, y + 70), 90.0)

    flagged = alterations.suspected(page, [fact("birth_date", 5), fact("work_start", 105)])
    assert flagged == [{"fact": "birth_date", "value": "1957-06-13", "box": [88, 5, 420, 75]}]
    assert alterations.suspected(page.convert("L"), [fact("birth_date", 5)]) == []  # grey: no ink to judge


def test_print_beyond_the_values_cell_rule_stubs_and_dots_are_not_flagged_and_a_figure_written_over_is():
    paper, blue, black, brown = (228, 210, 170), (40, 50, 110), (20, 20, 20), (110, 60, 30)
    page = Image.new("RGB", (700, 330), paper)
    draw = ImageDraw.Draw(page)
    # The box OCR's even split gave reaches over the cell's rule into the next cell's printed label (现工资) …
    _value(draw, 15, [blue] * 5)
    draw.line((400, 0, 400, 100), fill=black, width=4)
    for x in (420, 450):
        draw.line((x, 20, x + 20, 60), fill=black, width=4)
        draw.line((x, 40, x + 25, 40), fill=black, width=3)
    # … the rules of the row above reach down into the box's padding, and the date has its dots.
    _value(draw, 125, [blue] * 5)
    for x in (150, 250):
        draw.line((x, 100, x, 111), fill=black, width=4)
    draw.ellipse((205, 168, 212, 175), fill=blue)
    # A figure written over another in a brown pen: part of one glyph, too little to move its median colour.
    _value(draw, 235, [blue] * 5)
    draw.line((222, 240, 240, 280), fill=brown, width=6)

    def fact(kind, y, x1=420):
        return LocatedFact(kind, "1957-06-13", "", (0,), (88, y, x1, y + 70), 90.0)

    assert alterations.suspected(page, [fact("citizen_id", 5, 480), fact("birth_date", 117)]) == []
    flagged = alterations.suspected(page, [fact("birth_date", 227)])
    assert [a["fact"] for a in flagged] == ["birth_date"]


@pytest.fixture(scope="module")
def hand_dossier(tmp_path_factory):
    """Two forms filled in by hand (two hands, one date digit rewritten in another ink), digitised with
    PP-OCRv6 read from a bureau's model folder: run once for the tests below."""
    from digitise.options import DigitiseOptions
    from digitise.pipeline import digitise

    rng = random.Random(1957)
    who = person(rng)
    pages = [
        draw_hand_page(rng, who, title="职工登记表", hand="strokes", seal=False, skew=0.8),
        draw_hand_page(rng, who, title="干部履历表", hand="wenkai", altered=True, seal=False, skew=-0.5),
    ]
    folder = tmp_path_factory.mktemp("hand")
    files = []
    for i, page in enumerate(pages):
        path = folder / f"hand-{i + 1}.tif"
        page.image.save(path, dpi=(300, 300), compression="tiff_lzw")
        files.append(path)
    options = DigitiseOptions(engine="paddle6", ocr_models=_folder_like_v6(folder), jobs=2)
    result = digitise(files, folder / "hand.pdf", options, sidecar=folder / "hand.json")
    card = json.loads((folder / "hand.json").read_text(encoding="utf-8"))
    return who, pages, result, card, folder / "hand.pdf"


@pytest.mark.ocr
def test_handwritten_forms_are_read_catalogued_kept_in_colour_and_a_rewritten_digit_flagged(hand_dossier):
    who, pages, result, card, pdf = hand_dossier
    assert result.written
    # The sidecar names the model files read with and their sums.
    assert {m["file"] for m in card["run"]["models"]} >= {"PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"}
    sums = {m["file"]: m["sha256"] for m in card["run"]["models"]}
    assert sums["PP-OCRv6_rec_small.onnx"] == models.sha256_of(models.v6_small().rec)
    # Each form found by its printed title, whatever the hand's size.
    assert [(m["title"], m["class"], m["first_page"]) for m in card["proposed_catalogue"]] == [
        ("职工登记表", "1", 1),
        ("干部履历表", "1", 2),
    ]
    # Entries in (faded) black ink on a black form: grey, the hand as pale as it is; blue or brown: colour.
    assert [p["colour_mode"] for p in card["pages"]] == ["grey", "colour"]
    first = {f["fact"]: f["value"] for f in card["pages"][0]["facts"]}
    assert first["name"] == who.name and first["birth_date"] == who.birth_date.isoformat()
    # The rewritten digit is flagged on the second page, with its box; nothing on the first (one pen throughout).
    assert card["pages"][0]["suspected_alterations"] == []
    flagged = card["pages"][1]["suspected_alterations"]
    assert "birth_date" in [a["fact"] for a in flagged]
    x0, y0, x1, y1 = flagged[0]["box"]
    assert 0 <= x0 < x1 <= card["pages"][1]["width"] and 0 <= y0 < y1 <= card["pages"][1]["height"]
    # And the use copy looks like the scans.
    rendered = assert_pages_look_like(pdf, [p.image for p in pages])
    colour = np.asarray(rendered[0])
    assert colour.std() > 10  # not a blank render


@pytest.fixture(scope="module")
def hand_facts_run(tmp_path_factory):
    """Forms filled in by hand as the bench draws them (seed 1957: dates in the three written forms, 15- and
    18-digit IDs), one form filled in in faded black ink, and a clean printed page — with the default engine,
    whose misreadings on these pages (一九六0年, —九七八年, an X read as Y, a 日 not seen) the fact reader
    must see through."""
    from digitise.options import DigitiseOptions
    from digitise.pipeline import digitise
    from digitise.specimen import draw_page

    rng = random.Random(1957)
    who = person(rng)
    drawn = [draw_hand_page(rng, who, altered=i == 3) for i in range(5)]
    hand = [page for i, page in enumerate(drawn) if i != 3]  # the fourth has its birth date rewritten
    other = random.Random(31)
    faded_black = draw_hand_page(other, who, title="职工登记表", ink="black", fade=0.4, seal=False, skew=0.6)
    printed = draw_page(other, who, seal=False, noise=0, lines=5)
    folder = tmp_path_factory.mktemp("hand-facts")
    files = []
    for i, image in enumerate([p.image for p in hand] + [faded_black.image, printed.image]):
        files.append(folder / f"page-{i + 1}.tif")
        image.save(files[-1], dpi=(300, 300), compression="tiff_lzw")
    digitise(files, folder / "copy.pdf", DigitiseOptions(jobs=1), sidecar=folder / "copy.json")
    card = json.loads((folder / "copy.json").read_text(encoding="utf-8"))
    return who, hand, faded_black, printed, card, folder / "copy.pdf"


@pytest.mark.ocr
def test_each_fact_written_by_hand_is_read_exactly_on_every_page(hand_facts_run):
    who, hand, _, _, card, _ = hand_facts_run
    assert {p.birth_written[4] for p in hand} >= {"年", "."}  # the written forms are among the pages
    assert {len(p.id_written) for p in hand} == {15, 18}
    for page, read in zip(hand, card["pages"], strict=False):
        facts = {f["fact"]: f["value"] for f in read["facts"]}
        assert facts["name"] == who.name
        assert facts["birth_date"] == who.birth_date.isoformat(), (page.birth_written, read["lines"])
        assert facts["citizen_id"] == page.id_written, read["lines"]
        assert facts["work_start"] == page.work_start_iso, read["lines"]


@pytest.mark.ocr
def test_entries_in_faded_black_ink_stay_grey_and_clean_print_goes_bilevel(hand_facts_run):
    _, hand, faded_black, printed, card, pdf = hand_facts_run
    faded, clean = card["pages"][len(hand)], card["pages"][len(hand) + 1]
    assert (faded["colour_mode"], faded["compression"]) == ("grey", "JPEG")
    assert (clean["colour_mode"], clean["compression"]) == ("bilevel", "CCITT G4")
    assert_pages_look_like(pdf, [faded_black.image, printed.image], first=len(hand) + 1)
    # As a person sees it: the written name as pale as the pen left it, the printed label beside it black.
    page = np.asarray(render(pdf, dpi=150)[len(hand)], dtype=float)
    scale = page.shape[1] / faded["width"]
    name = next(f for f in faded["facts"] if f["fact"] == "name")
    line = faded["lines"][name["lines"][0]]
    x0, y0, x1, y1 = (round(v * scale) for v in name["box"])
    label = page[y0:y1, round(line["box"][0] * scale) : x0]
    written = page[y0:y1, x0:x1]
    darkest = (np.percentile(label, 2), np.percentile(written, 2))
    assert darkest[0] < 70 < darkest[1], darkest


def _id_row(sheet: Image.Image, value: str, read_as: str, top: int, rng: random.Random) -> OcrLine:
    """A printed ID label and `value` written after it by hand at `top`; the line as the page's OCR read it."""
    from digitise.specimen_hand import INKS, PRINT_FONTS
    from digitise.specimen_pen import Writer, write

    printed = ImageFont.truetype(PRINT_FONTS[0], 50)
    ImageDraw.Draw(sheet).text((40, top + 8), "公民身份号码", font=printed, fill=(30, 28, 30))
    hand = Writer("wenkai", 60, 0.1, 0.08, 1.05, 0.006, INKS["blue-black"])
    x0, y0, x1, y1 = write(sheet, value, 420, top, hand, rng, (50, 58, 105))
    label = OcrWord("公民身份号码", 40, top + 8, 300, 52, 99.0)
    written = OcrWord(read_as, x0, y0, x1 - x0, y1 - y0, 70.0)
    return OcrLine(label.text + read_as, 40, min(top, y0), x1 - 40, max(y1, top + 60) - min(top, y0), (label, written))


@pytest.mark.ocr
def test_an_id_read_with_a_figure_dropped_is_read_again_from_its_cell_and_an_invalid_one_stays_invalid():
    """Issue 39: the page's OCR dropped a figure of a long handwritten ID; the cell, read again from its crop by
    both PP-OCR models, gives the valid number. A number written wrong (no one correction valid) is read again
    too, but nothing valid is read, so it stays as read — invalid, for the 校对 screen, never made valid."""
    from digitise.id_reread import reread_ids

    rng = random.Random(39)
    who = person(rng)
    wrong = next(
        c
        for n in range(14, 17)
        for d in "0123456789"
        if not is_valid(c := who.citizen_id[:n] + d + who.citizen_id[n + 1 :]) and corrected(c) == c
    )
    sheet = Image.new("RGB", (2100, 420), (236, 226, 200))
    dropped = who.citizen_id[:11] + who.citizen_id[12:]
    lines = [_id_row(sheet, who.citizen_id, dropped, 60, rng), _id_row(sheet, wrong, wrong, 260, rng)]
    assert extract(lines[0].text).citizen_ids == [] and extract(lines[1].text).invalid_ids == [wrong]

    again = reread_ids(sheet, lines, None)
    assert extract(again[0].text).citizen_ids == [who.citizen_id]
    assert again[0].words[1].text == who.citizen_id and again[0].words[1].left < lines[0].words[1].left + 5
    assert again[1] == lines[1]


@pytest.mark.ocr
def test_a_form_with_each_value_written_below_its_label_has_its_facts_read(tmp_path):
    """Issue 39: a multi-column form printing a row of labels over a row of value cells (姓名 性别 民族, then
    周英 女 汉): in text order each value follows all the row's labels — the name read as 性别, 参加工作时间 as
    nothing — so the lines' positions pair each label with the value written beneath it, in its column."""
    from digitise.options import DigitiseOptions
    from digitise.pipeline import digitise

    rng = random.Random(1949)
    who = person(rng)
    page = draw_hand_page(
        rng, who, title="职工登记表", hand="wenkai", ink="blue-black", fade=0.1, seal=False, skew=0.5, labels_above=True
    )
    page.image.save(tmp_path / "p.tif", dpi=(300, 300), compression="tiff_lzw")
    digitise([tmp_path / "p.tif"], tmp_path / "c.pdf", DigitiseOptions(jobs=1), sidecar=tmp_path / "c.json")
    read = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["pages"][0]
    assert any(line["text"].startswith("姓名性别民族") for line in read["lines"])  # the labels on a row of their own
    facts = {f["fact"]: f["value"] for f in read["facts"]}
    assert facts["name"] == who.name and facts["ethnicity"] == "汉", read["lines"]
    assert facts["birth_date"] == who.birth_date.isoformat(), read["lines"]
    assert facts["work_start"] == page.work_start_iso and facts["citizen_id"] == page.id_written, read["lines"]
    name = next(f for f in read["facts"] if f["fact"] == "name")
    label = next(line for line in read["lines"] if line["text"].startswith("姓名"))
    assert name["box"][1] > label["box"][3] - 5  # boxed on the value beneath its label


def _overrun_row(ink: tuple[int, int, int], rng: random.Random) -> tuple[Image.Image, OcrLine, str]:
    """An 18-figure ID written by hand in a cell too short for it, its last two figures over the next cell's
    printed label (参加工作时间); the line as the page's OCR read it: the label and the value without them."""
    from digitise.specimen_hand import PRINT_FONTS
    from digitise.specimen_pen import Writer, write

    who = person(random.Random(1931))
    sheet = Image.new("RGB", (2000, 200), (236, 226, 200))
    draw = ImageDraw.Draw(sheet)
    printed = ImageFont.truetype(PRINT_FONTS[0], 50)
    draw.text((40, 68), "公民身份号码", font=printed, fill=(30, 28, 30))
    hand = Writer("wenkai", 60, 0.05, 0.08, 1.0, 0.004, ink)
    x0, y0, x1, y1 = write(sheet, who.citizen_id, 400, 60, hand, rng, ink)
    label_left = x1 - 90  # the next label starts under the last two figures
    draw.text((label_left, 68), "参加工作时间", font=printed, fill=(30, 28, 30))
    read_as = who.citizen_id[:16]
    words = (
        OcrWord("公民身份号码", 40, 68, 300, 52, 99.0),
        OcrWord(read_as, x0, y0, label_left - x0, y1 - y0, 90.0),
        OcrWord("参加工作时间", label_left, 68, 300, 52, 99.0),
    )
    line = OcrLine("".join(w.text for w in words), 40, min(y0, 68), label_left + 260, y1 - min(y0, 68), words)
    return sheet, line, who.citizen_id


@pytest.mark.ocr
def test_id_figures_written_over_the_next_label_are_read_with_the_print_lifted_when_the_ink_has_a_colour():
    """Issue 39: a long ID runs out of its cell and its last figures sit on the next printed label; the page's
    OCR reads the label and loses them. In blue-black ink the print is lifted from a crop reaching past the
    last figure read (the label's grey tells print from hand), so the cell read again gives the whole number,
    which a birth date on the page must agree with. A black hand cannot be told from the print: no such crop."""
    from digitise.id_reread import hand_only, reread_ids

    rng = random.Random(2)
    sheet, line, truth = _overrun_row(INKS["blue-black"], rng)
    born = f"出生日期{truth[6:10]}年{int(truth[10:12])}月{int(truth[12:14])}日"
    birth_line = OcrLine(born, 40, 0, 400, 40, (OcrWord(born, 40, 0, 400, 40, 99.0),))
    assert extract(line.text).citizen_ids == []
    start = len("公民身份号码")
    lifted = hand_only(sheet, line, start, start + 16)
    assert lifted is not None
    grey = np.asarray(lifted)
    assert grey.min() < 140  # the figures stay …
    again = reread_ids(sheet, [birth_line, line], None)
    assert extract(again[1].text).citizen_ids == [truth]

    black_sheet, black_line, _ = _overrun_row(INKS["black"], random.Random(2))
    assert hand_only(black_sheet, black_line, start, start + 16) is None


def _black_overrun_row(seed: int) -> tuple[Image.Image, OcrLine, str, str]:
    """An 18-figure ID in black ink (like the print: no lifting it off), its last figure over the next printed
    label; the line as the page's OCR read it (17 figures), and the person's birth date."""
    from digitise.specimen_hand import PRINT_FONTS
    from digitise.specimen_pen import Writer, write

    rng = random.Random(seed)
    who = person(rng)
    sheet = Image.new("RGB", (2000, 200), (236, 226, 200))
    draw = ImageDraw.Draw(sheet)
    printed = ImageFont.truetype(PRINT_FONTS[0], 50)
    draw.text((40, 68), "公民身份号码", font=printed, fill=(30, 28, 30))
    pen = Writer("strokes", 58, 0.08, 0.07, 1.05, 0.008, INKS["black"])
    x0, y0, x1, y1 = write(sheet, who.citizen_id, 400, 60, pen, rng, INKS["black"])
    label_left = x1 - 60
    draw.text((label_left, 68), "参加工作时间", font=printed, fill=(30, 28, 30))
    words = (
        OcrWord("公民身份号码", 40, 68, 300, 52, 99.0),
        OcrWord(who.citizen_id[:17], x0, y0, label_left - x0, y1 - y0, 90.0),
        OcrWord("参加工作时间", label_left, 68, 300, 52, 99.0),
    )
    line = OcrLine("".join(w.text for w in words), 40, min(y0, 68), label_left + 260, y1 - min(y0, 68), words)
    return sheet, line, who.citizen_id, who.birth_date.isoformat()


@pytest.mark.ocr
def test_a_black_id_figure_lost_under_the_next_label_is_solved_from_the_recognisers_frames_by_the_birth_date():
    """Issue 39: in black ink the figure written over the next label cannot be lifted off the print; the
    recognisers' per-frame scores of the cell, with the check character and the page's birth date, solve it
    (digitise/id_frames.py). Never without the birth date, nor against another one: the number stays invalid."""
    from digitise.id_reread import by_frames, reread_ids

    sheet, line, truth, born = _black_overrun_row(2)
    start, end = len("公民身份号码"), len("公民身份号码") + 17
    assert by_frames(sheet, line, start, end, [line.text], (born,)) == truth
    assert by_frames(sheet, line, start, end, [line.text], (f"{int(born[:4]) + 1}{born[4:]}",)) is None
    assert by_frames(sheet, line, start, end, [line.text], ()) is None
    birth = f"出生日期{born[:4]}年{int(born[5:7])}月{int(born[8:])}日"
    birth_line = OcrLine(birth, 40, 0, 400, 40, (OcrWord(birth, 40, 0, 400, 40, 99.0),))
    again = reread_ids(sheet, [birth_line, line], None)
    assert extract(again[1].text).citizen_ids == [truth]
    assert again[1].words[1].text == truth


def _row_over_label(seed: int) -> tuple[Image.Image, OcrLine, int, int, str, str, str]:
    """An 18-figure ID written by hand (hand, ink, fading, size drawn from `seed`), its last 1–3 figures over the
    next cell's rule and printed label (参加工作时间 or 现工资); the line as the page's OCR read it (the figures
    before the label), the value's span in it, the number, the birth date, the sex (男/女)."""
    from digitise.specimen_hand import PRINT_FONTS
    from digitise.specimen_pen import Writer, write

    rng = random.Random(seed)
    who = person(rng)
    ink = INKS[rng.choice(list(INKS))]
    fade = rng.uniform(0, 0.4)
    paper = (rng.randint(225, 245), rng.randint(215, 235), rng.randint(180, 210))
    ink = tuple(round(c + (p - c) * fade) for c, p in zip(ink, paper, strict=True))
    hand, size = rng.choice(("strokes", "wenkai")), rng.randint(50, 66)
    sheet = Image.new("RGB", (2200, 220), paper)
    draw = ImageDraw.Draw(sheet)
    printed = ImageFont.truetype(rng.choice(PRINT_FONTS), 50)
    draw.text((40, 78), "公民身份号码", font=printed, fill=(30, 28, 30))
    pen = Writer(hand, size, rng.uniform(0.03, 0.1), rng.uniform(0.05, 0.09), rng.uniform(0.95, 1.1),
                 rng.uniform(0.003, 0.008), ink)  # fmt: skip
    x0, y0, x1, y1 = write(sheet, who.citizen_id, 400, 70, pen, rng, ink)
    pitch = (x1 - x0) / 18
    under = rng.choice((1, 1, 2, 2, 3))
    label_left = round(x1 - under * pitch + rng.uniform(-0.3, 0.3) * pitch)
    label = rng.choice(("参加工作时间", "现工资"))
    draw.line((label_left - 12, 40, label_left - 12, 200), fill=(30, 28, 30), width=3)
    draw.text((label_left, 78), label, font=printed, fill=(30, 28, 30))
    read = who.citizen_id[: 18 - under]
    words = (
        OcrWord("公民身份号码", 40, 78, 300, 52, 99.0),
        OcrWord(read, x0, y0, label_left - x0, y1 - y0, 90.0),
        OcrWord(label, label_left, 78, 50 * len(label), 52, 99.0),
    )
    line = OcrLine("".join(w.text for w in words), 40, min(y0, 78), label_left + 50 * len(label) - 40,
                   y1 - min(y0, 78), words)  # fmt: skip
    start = len("公民身份号码")
    sex = "男" if who.sex == "M" else "女"
    return sheet, line, start, start + len(read), who.citizen_id, who.birth_date.isoformat(), sex


@pytest.mark.ocr
@pytest.mark.parametrize(("seed", "forged_at"), [(10, 9), (12, 3)])  # blue ink, the font hand; brown, the pen hand
def test_an_id_solved_from_the_frames_never_agrees_with_a_birth_date_the_frames_do_not_rank_first(seed, forged_at):
    """Issue 39: figures lost under the next printed label are solved from the recognisers' frames with the
    page's birth date. It only narrows the rivals: a birth date read wrong or rewritten by a forger (one figure
    other) made a valid number agreeing with it — another person's ID, confirming the forgery. The number must
    be the frames' first among every valid number near the reading, whatever birth date it encodes."""
    from digitise.id_reread import by_frames

    sheet, line, start, end, truth, born, _ = _row_over_label(seed)
    assert extract(line.text).citizen_ids == []
    assert by_frames(sheet, line, start, end, [line.text], (born,)) == truth
    forged = born[:forged_at] + str((int(born[forged_at]) + 1) % 10) + born[forged_at + 1 :]
    assert by_frames(sheet, line, start, end, [line.text], (forged,)) is None
