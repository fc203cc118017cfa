"""The catalogue proposed from the pages: where each material starts, its title and class, its date,
its page range — checked on pages drawn with a known form title, and on records with known lines."""

import json
from dataclasses import replace

import pytest

from digitise.facts import PageFacts
from digitise.page_record import PageLine, PageRecord
from digitise.proposal import classify, propose, title_line, title_text


def test_titles_as_ocr_reads_them_are_matched_to_usual_names_and_their_class():
    assert classify("职工退休审批表") == ("职工退休审批表", "9")
    assert classify("干部履历表") == ("干部履历表", "1")
    assert classify("自传") == ("自传", "2")
    assert classify("攻动合同书") == ("劳动合同书", "9")  # one character misread
    assert classify("某厂职工奖励审批表") == ("奖励审批表", "7")  # a usual name inside a longer one
    assert classify("关于撤销某某处分的决定书") == ("关于撤销某某处分的决定书", "8")  # by its words
    assert classify("情况说明") == ("情况说明", "10")  # nothing known: class 10, the title as read


def record(page: int, title: str | None = None, *, blank=False, dates=(), born=("2030-01-01",)) -> PageRecord:
    """A page record as a page worker leaves it, with its lines (the title line first) and facts."""
    lines = [PageLine("姓名：王芳 性别：女", 300, 580, 500, 46)] * 3
    if title:
        lines = [PageLine(title, 1050, 320, 440, 84), *lines]
    facts = PageFacts(dates=list(dates), birth_dates=list(born))
    return PageRecord(page - 1, page, "k", "scan.tif", page, "0" * 64, width=2538, height=3567, blank=blank,
                      lines=[] if blank else lines, facts=facts)  # fmt: skip


def titled(record: PageRecord) -> PageRecord:
    """The title the page worker finds in the record's lines (pipeline._title without the re-read)."""
    found = title_line(record.lines, record.width, record.height)
    return replace(record, title=title_text(found, record.height) if found else None)


def test_a_material_starts_at_a_title_and_runs_on_over_continuation_sheets_and_blank_backs():
    records = [
        record(1, "职工登记表", dates=["1978-09-01"]),
        record(2, blank=True),
        record(3, "职工退休审批表", dates=["1958-01-02", "1998-03-15", "2030-01-01"]),
        record(4, dates=["1998-04-01"]),  # its second sheet: no title
        record(5, "自传"),
    ]
    proposed = [m.as_dict() for m in propose([titled(r) for r in records])]
    assert proposed == [
        {"class": "1", "title": "职工登记表", "first_page": 1, "last_page": 2, "date": "1978-09", "pages": 1},
        {"class": "9", "title": "职工退休审批表", "first_page": 3, "last_page": 4, "date": "1998-04", "pages": 2},
        {"class": "2", "title": "自传", "first_page": 5, "last_page": 5, "date": None, "pages": 1},
    ]


def test_a_form_is_found_by_its_printed_name_wherever_it_sits_and_whatever_size_the_hand_writes():
    """Issue 39: the hand may write as large as the title; a form's name is set left, right, small."""
    low = record(1, "职工登记表")
    low.lines[0] = replace(low.lines[0], top=2000)  # a usual name at the foot of the page: not its title
    off_centre = record(2, "干部履历表")
    off_centre.lines[0] = replace(off_centre.lines[0], left=100)
    small = record(3, "国营红星机械厂工资审批表")  # under a letterhead, as small as the entries
    small.lines[0] = replace(small.lines[0], height=46)
    large_hand = record(4, "职工退休审批表")
    large_hand.lines += [PageLine("张建国", 600, 700, 400, 120)] * 4
    assert [
        (m.title, m.class_code, m.first_page)
        for m in propose([titled(r) for r in (low, off_centre, small, large_hand)])
    ] == [
        ("（未识别的材料）", "10", 1),
        ("干部履历表", "1", 2),
        ("工资审批表", "9", 3),
        ("职工退休审批表", "9", 4),
    ]


def test_a_name_not_usual_needs_large_centred_type_and_another_form_starts_a_material_without_a_title():
    unknown = record(1, "某厂职工情况调查表")  # large, centred: a form of its own, class by its words
    small_unknown = record(2, "情况调查")
    small_unknown.lines[0] = replace(small_unknown.lines[0], height=46, left=100)
    other_form = record(3)  # no title read, but the labels of another form
    labels = ("原工资：52.0元", "现工资：58.5元", "连续工龄：25年", "审批意见：同意")
    other_form.lines = [PageLine(t, 300, 600 + 90 * i, 500, 46) for i, t in enumerate(labels)]
    continued = record(4)
    continued.lines = other_form.lines[:3]
    proposed = [
        (m.title, m.first_page, m.last_page)
        for m in propose([titled(r) for r in (unknown, small_unknown, other_form, continued)])
    ]
    assert proposed == [("某厂职工情况调查表", 1, 2), ("（未识别的材料）", 3, 4)]


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
