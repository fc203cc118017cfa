"""Dates and citizen IDs read out of the cell after their printed label, as OCR misreads handwriting
(issue 39): each case is a misreading PP-OCR made on a handwritten form, or one of its kind."""

from datetime import date

import pytest

from digitise.citizen_id import check_char, is_valid
from digitise.facts import date_spans, extract, locate, reading_text
from digitise.ocr import OcrLine, OcrWord
from digitise.readings import corrected, date_at, id_cell, ids_read, reread_id
from digitise.specimen import citizen_id_for

WHO = citizen_id_for("110102", date(1960, 4, 19), 9, "M")  # 11010219600419019X


@pytest.mark.parametrize(
    ("text", "birth"),
    [
        ("出生日期一九六0年四月十九日", "1960-04-19"),  # 〇 read as 0
        ("出生日期一九六O年四月十九日", "1960-04-19"),  # … or as the letter O
        ("出生年月1960年4月19民族汉", "1960-04-19"),  # the 日 not seen, the next label follows
        ("出生日期1.960年4月19日", "1960-04-19"),  # a stray dot inside the year
        ("出生日期1960午4月19日", "1960-04-19"),  # 年 read as 午
        ("出生日期1960车4用19日", "1960-04-19"),  # 年 as 车, 月 as 用
        ("出生日期1960年4日19日", "1960-04-19"),  # 月 as 日
        ("出生日期l960.4.l9", "1960-04-19"),  # l for 1
        ("出生日期1960419", "1960-04-19"),  # the separators lost, one way to split them
        ("出生日期1960年419", "1960-04-19"),
        ("出生日期：1960—4—19", "1960-04-19"),  # dashes read as 一
        ("出生日期一九六〇年四月十九曰", "1960-04-19"),  # 日 as 曰
        ("出生年月１９６０年４月", "1960-04"),  # full-width figures
        ("出生年月1960.4参加工作时间1978.5", "1960-04"),  # the month only, as written
        ("出生日期1960123", "1960"),  # 1-23 or 12-3: only the year is sure
        ("出生日期1960年14月", "1960"),  # no month 14
    ],
)
def test_a_birth_date_misread_as_ocr_misreads_handwriting_is_still_read(text, birth):
    assert extract(text).birth_dates == [birth]


@pytest.mark.parametrize(
    ("text", "work_start"),
    [
        ("参加工作时间—九七八年五月身份证号码", "1978-05"),  # 一 read as a dash
        ("参加工作时间一九七八年五月十八日原工资78.5元", "1978-05-18"),
        ("参加工作时间1978.5.4连续工龄38年", "1978-05-04"),
        ("参加革命工作时间78.9", "1978-09"),  # a two-digit year, after its label
    ],
)
def test_work_start_read_through_the_same_misreadings(text, work_start):
    assert extract(text).work_start_dates == [work_start]


def test_nothing_is_read_as_a_date_where_no_year_is_written():
    assert extract("出生日期不详 参加工作时间以劳动部门审批的招工表为准。").birth_dates == []
    assert extract("参加工作时间以劳动部门审批的招工表为准。").work_start_dates == []
    assert date_at("O号楼") is None and date_at("1.5元") is None
    assert extract("工资 1960元 4月").birth_dates == []  # no label: running text is not read through look-alikes


def test_a_misread_date_after_its_label_is_found_by_search_too():
    assert (4, 14, "1960-04-19") in date_spans("出生日期1960午4月19日")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        (f"公民身份号码{WHO[:-1]}Y现工资59.9元", WHO),  # X read as Y
        (f"身份证号码{WHO[:-1]}x", WHO),
        ("身份证号码11O1O2196OO419O19X", WHO),  # O for 0
        ("公民身份号码1 10102600. 41901 9", "110102600419019"),  # the 15 digits, a stray dot among them
        (f"公民身份号码{WHO[:1]}7{WHO[2:]}", WHO),  # one 1 read as 7: the check character says which
    ],
)
def test_a_citizen_id_misread_is_read_as_written(text, number):
    found = extract(text)
    assert found.citizen_ids == [number] and found.invalid_ids == []


def test_one_misread_digit_is_corrected_only_where_one_look_alike_makes_the_number_valid():
    misread = WHO[:7] + "4" + WHO[8:]  # 1940 …: the 9 of the year read as 4
    assert corrected(misread) == WHO
    # A 1 read as 2 in the region: several look-alikes make a valid number, so none is chosen …
    ambiguous = WHO[:12] + "2" + WHO[13:]
    assert corrected(ambiguous) == ambiguous and not is_valid(ambiguous)
    assert extract(f"公民身份号码{ambiguous}").invalid_ids == [ambiguous]
    # … unless the page's birth date says which one.
    assert corrected(ambiguous, ("1960-04-19",)) == WHO
    assert extract(f"出生日期1960年4月19日公民身份号码{ambiguous}").citizen_ids == [WHO]
    # A serial digit misread where several fixes are valid and the birth date cannot tell: kept as read.
    serial = WHO[:14] + "6" + WHO[15:]
    assert corrected(serial, ("1960-04-19",)) == serial
    # The one valid fix encodes 1960-04-19, but the page says its holder was born in 1940: another person's
    # number, not this one's — kept as read, invalid, for a person to check.
    assert corrected(misread, ("1940-04-19",)) == misread and not is_valid(misread)
    assert extract(f"出生日期1940年4月19日公民身份号码{misread}").citizen_ids == []


def test_the_value_read_through_look_alikes_is_located_on_its_characters():
    text = "出生日期1960午4月19日"
    words = (OcrWord("出生日期", 100, 50, 200, 40, 99.0), OcrWord("1960午4月19日", 320, 48, 400, 44, 80.0))
    found = locate([OcrLine(text, 100, 48, 620, 44, words)])
    birth = next(f for f in found if f.fact == "birth_date")
    assert birth.value == "1960-04-19" and birth.box[0] >= 320 and birth.confidence == 80.0


def test_a_name_or_place_running_into_the_next_cells_label_ends_at_the_label():
    found = extract("姓名胡军丽文化程度初中籍贯河北保定公民身份号码")
    assert found.names == ["胡军丽"] and found.native_places == ["河北保定"]
    assert extract("姓名胡军丽公民身份号码110102580301526").names == ["胡军丽"]


OTHER = citizen_id_for("110102", date(1962, 8, 3), 23, "F")  # another valid number, another birth date


def test_an_id_cell_read_again_gives_a_number_only_when_one_valid_number_is_read():
    """The re-read of a failed ID's cell (issue 39): what the other readers read is kept only where it is a
    valid number, whole as written — a figure is never added, dropped or guessed."""
    assert reread_id([f"码{WHO}"]) == WHO  # the end of the label in the crop is no matter
    assert reread_id([WHO[:10] + WHO[11:], "公民身份"]) is None  # a figure dropped again: no reading
    assert reread_id(["1" + WHO]) is None and ids_read(f"{WHO}7") == []  # 19 figures are not an ID
    assert reread_id([WHO, OTHER]) is None  # two readers disagree: the page's reading stays, for 校对
    assert reread_id([WHO, OTHER], ("1960-04-19",)) == WHO  # … unless the page's birth date says which
    assert reread_id([OTHER], ("1960-04-19",)) is None  # a valid number of another birth date is not taken
    assert reread_id([WHO, f"{WHO[:-1]}Y"]) == WHO  # two readers, one number
    assert reread_id(["110102600419019"], ("1960-04-19",)) == "110102600419019"  # a first card's 15 digits
    ambiguous = WHO[:14] + "6" + WHO[15:]  # several one-digit corrections valid: none is chosen
    assert reread_id([ambiguous], ("1960-04-19",)) is None


def test_the_id_cell_is_the_run_of_figures_after_the_label():
    line = f"公民身份号码 {WHO[:9]}.{WHO[9:16]}现工资59.9元"  # two figures dropped, a stray dot
    start, end = id_cell(line)
    assert line[start:end] == f"{WHO[:9]}.{WHO[9:16]}"
    assert id_cell("公民身份号码现工资59.9元") is None and id_cell("出生日期1960年4月19日") is None


def test_a_value_read_again_replaces_its_characters_and_keeps_the_words_around_it():
    words = (OcrWord("身份证号11010219", 100, 50, 700, 40, 90.0), OcrWord("现工资", 900, 50, 150, 40, 99.0))
    line = OcrLine("身份证号11010219 现工资", 100, 50, 950, 40, words)
    again = line.replaced(4, 12, WHO, (320, 45, 860, 95), 88.0)
    assert again.text == f"身份证号{WHO} 现工资"
    assert [w.text for w in again.words] == ["身份证号", WHO, "现工资"]
    boxes = again.char_boxes()
    assert boxes[0][0] == 100 and boxes[4][0] == 320 and boxes[21][2] == 860 and boxes[-1][0] == 1000
    assert extract(again.text).citizen_ids == [WHO]


def _row(top: int, cells: list[tuple[str, int]], height: int = 40) -> OcrLine:
    """One printed row as PP-OCR joins it: a word per cell, at the cell's x, 200 px wide."""
    words = tuple(OcrWord(text, x, top, 200, height, 90.0) for text, x in cells)
    return OcrLine("".join(w.text for w in words), cells[0][1], top, cells[-1][1] + 200 - cells[0][1], height, words)


def test_values_written_below_their_labels_are_paired_with_the_label_above_them_in_their_column():
    """Issue 39: a multi-column form prints a row of labels, then a row of values; in text order every value
    follows all the row's labels, so the lines' positions pair each label with the value beneath it."""
    labels = _row(100, [("姓名", 100), ("出生日期", 700), ("参加工作时间", 1300)])
    values = _row(160, [("王伟", 120), ("1960.4.19", 690), ("一九七八年五月", 1280)], height=60)
    id_labels = _row(240, [("民族", 100), ("公民身份号码", 700)])
    id_values = _row(290, [("汉", 110), (WHO, 760)], height=60)
    lines = [labels, values, id_labels, id_values]
    found = extract(reading_text(lines))
    assert found.names == ["王伟"] and found.birth_dates == ["1960-04-19"] and found.work_start_dates == ["1978-05"]
    assert found.citizen_ids == [WHO] and found.ethnicities == ["汉"]
    birth = next(f for f in locate(lines) if f.fact == "birth_date")
    assert birth.lines == (1,) and birth.box[0] == 690  # boxed on the value's own characters, under its label
    # In text order the same lines say none of it right (the birth date's window even cuts its day: 1960-04-01).
    in_text_order = extract("\n".join(ln.text for ln in lines))
    assert "1960-04-19" not in in_text_order.birth_dates and "1978-05" not in in_text_order.work_start_dates


def test_a_row_of_labels_with_values_beside_them_is_read_as_before():
    beside = _row(100, [("出生日期", 100), ("1960.4.19", 300), ("参加工作时间", 700), ("1978.5", 950)])
    below = _row(160, [("王伟", 300)])  # a line beneath: not under a row of labels alone
    found = extract(reading_text([beside, below]))
    assert found.birth_dates == ["1960-04-19"] and found.work_start_dates == ["1978-05"]


def test_two_readings_differing_in_one_figure_are_the_number_the_check_character_gives():
    """Issue 39: two readers of an ID's cell agree on 17 figures and differ on one (a 9 half written over the
    next cell's label, read as 6 by one and 7 by the other): both invalid, but MOD 11-2 has one value for one
    unknown position, so the number is whole — taken only where it encodes the birth date read on the page."""
    truth, a, b = next(
        (truth, a, b)
        for serial in range(100, 200)
        for truth in [citizen_id_for("320105", date(1953, 11, 2), serial, "F")]
        if truth[15] not in "67"
        for a, b in [(truth[:15] + "6" + truth[16:], truth[:15] + "7" + truth[16:])]
        if corrected(a) == a and corrected(b) == b  # no one look-alike makes either valid
    )
    assert not is_valid(a) and not is_valid(b)
    assert reread_id([f"码{a}", b], ("1953-11-02",)) == truth
    assert reread_id([a, b]) is None  # no birth date on the page: no figure filled in
    assert reread_id([a, b], ("1960-04-19",)) is None  # the filled number is not this page's person
    c = b[:3] + ("4" if b[3] != "4" else "5") + b[4:]
    assert reread_id([a, c], ("1953-11-02",)) is None  # two figures apart: which is in doubt is not known
    # Both readers wrong alike in the birth date (day 02 read as 07): the filled number encodes another day.
    d, e = (x[:12] + "07" + x[14:] for x in (a, b))
    assert reread_id([d, e], ("1953-11-02",)) is None
    # A third reading, valid, of the same birth date (another region): two candidates, none taken.
    other = "37" + truth[2:17] + check_char("37" + truth[2:17])
    assert reread_id([a, b, other], ("1953-11-02",)) is None
