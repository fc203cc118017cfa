"""The catalogue proposed from the pages: where each material starts, its title and class, its date,
its page range — checked on pages drawn with a known form title, and on records with known lines."""

import json

import pytest

from digitise.proposal import classify, propose


def test_titles_as_ocr_reads_them_are_matched_to_usual_names_and_their_class():
    assert classify("职工退休审批表") == ("职工退休审批表", "9")
    assert classify("干部履历表") == ("干部履历表", "1")
    assert classify("自传") == ("自传", "2")
    assert classify("攻动合同书") == ("劳动合同书", "9")  # one character misread
    assert classify("某厂职工奖励审批表") == ("奖励审批表", "7")  # a usual name inside a longer one
    assert classify("关于撤销某某处分的决定书") == ("关于撤销某某处分的决定书", "8")  # by its words
    assert classify("情况说明") == ("情况说明", "10")  # nothing known: class 10, the title as read


def record(page: int, title: str | None = None, *, blank: bool = False, dates=(), born=("2030-01-01",)) -> dict:
    lines = [{"text": "姓名：王芳 性别：女", "left": 300, "top": 580, "width": 500, "height": 46}] * 3
    if title:
        lines = [{"text": title, "left": 1050, "top": 320, "width": 440, "height": 84}, *lines]
    return {"page": page, "width": 2538, "height": 3567, "blank": blank, "lines": [] if blank else lines,
            "facts": {"dates": list(dates), "birth_dates": list(born)}}  # fmt: skip


def test_a_material_starts_at_a_title_and_runs_on_over_continuation_sheets_and_blank_backs():
    records = [
        record(1, "职工登记表", dates=["1978-09-01"]),
        record(2, blank=True),
        record(3, "职工退休审批表", dates=["1958-01-02", "1998-03-15", "2030-01-01"]),
        record(4, dates=["1998-04-01"]),  # its second sheet: no title
        record(5, "自传"),
    ]
    proposed = [m.as_dict() for m in propose(records)]
    assert proposed == [
        {"class": "1", "title": "职工登记表", "first_page": 1, "last_page": 2, "date": "1978-09", "pages": 1},
        {"class": "9", "title": "职工退休审批表", "first_page": 3, "last_page": 4, "date": "1998-04", "pages": 2},
        {"class": "2", "title": "自传", "first_page": 5, "last_page": 5, "date": None, "pages": 1},
    ]


def test_a_title_must_be_large_centred_and_near_the_top():
    low = record(1, "职工登记表")
    low["lines"][0] = {**low["lines"][0], "top": 2000}  # large type at the foot of the page: not a title
    off_centre = record(2, "职工登记表")
    off_centre["lines"][0] = {**off_centre["lines"][0], "left": 100}
    small = record(3, "职工登记表")
    small["lines"][0] = {**small["lines"][0], "height": 46}
    assert [m.title for m in propose([low, off_centre, small])] == ["（未识别的材料）"]


@pytest.mark.ocr
def test_the_pipeline_writes_the_proposal_into_the_sidecar(scanned_dossier):
    """The session's OCR'd dossier: page 2 is a blank back, page 3 was fed upside down."""
    card = json.loads(scanned_dossier.sidecar.read_text(encoding="utf-8"))
    proposed = card["proposed_catalogue"]
    assert proposed and set(proposed[0]) == {"class", "title", "first_page", "last_page", "date", "pages"}
    assert proposed[0]["first_page"] == 1 and proposed[-1]["last_page"] == len(scanned_dossier.pages)
    for n, page in enumerate(scanned_dossier.pages, start=1):
        covering = next(m for m in proposed if m["first_page"] <= n <= m["last_page"])
        if not page.blank:
            assert (covering["title"], covering["class"]) == (page.title, page.class_code), (n, proposed)
    assert next(m for m in proposed if m["first_page"] <= 2 <= m["last_page"])["first_page"] == 1  # the blank back
