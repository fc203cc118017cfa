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
from PIL import Image, ImageDraw

from digitise import alterations, models
from digitise.chinese_forms import simplified
from digitise.facts import LocatedFact, extract
from digitise.models import ModelFolderError, bureau_models
from digitise.specimen import person
from digitise.specimen_hand import draw_hand_page, id15
from tests.rendering import assert_pages_look_like


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
    # Entries in (faded) black ink on a black form: black print as far as the colour rule sees; blue or brown: colour.
    assert [p["colour_mode"] for p in card["pages"]] == ["bilevel", "colour"]
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
