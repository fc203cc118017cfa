from datetime import date

import pytest

from digitise.catalogue import Catalogue, CatalogueEntry, RetireeFacts, link_pages
from digitise.facts import compare, date_spans, dates_in, extract, statements
from digitise.ocr import join_words
from digitise.specimen import citizen_id_for


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("出生于1962年3月15日", ["1962-03-15"]),
        ("1962.03参加工作", ["1962-03"]),
        ("一九六二年三月十五日", ["1962-03-15"]),
        ("一九六二年三月", ["1962-03"]),
        ("一九八〇年十二月二十五日", ["1980-12-25"]),
        ("1962-3-5 至 1970/12", ["1962-03-05", "1970-12"]),
        ("1962年13月", ["1962"]),  # no month 13: only the year stands
        ("电话 19620315", []),
        ("民国三十七年五月", ["1948-05"]),
        ("二〇〇三年十月", ["2003-10"]),
        ("二○○三年", ["2003"]),
    ],
)
def test_dates_in_the_forms_files_use(text, dates):
    assert dates_in(text) == dates


def test_citizen_ids_are_validated_and_the_name_read():
    good = citizen_id_for("110102", date(1955, 6, 1), 12, "M")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    facts = extract(f"姓名：王伟 性别：男\n公民身份号码：{good}\n旧号 {bad}\n出生年月：1955年6月")
    assert facts.citizen_ids == [good] and facts.invalid_ids == [bad]
    assert facts.names == ["王伟"] and facts.birth_dates == ["1955-06"]


def test_a_forms_cell_lines_read_as_marks_do_not_hide_the_facts():
    facts = extract("姓名：「王伟 | 性别：男\n出生日期：｜1955年6月1日\n参加工作时间：丨1973年9月")
    assert facts.names == ["王伟"] and facts.birth_dates == ["1955-06-01"] and facts.work_start_dates == ["1973-09"]


def test_work_start_date_is_read_after_its_label_not_from_other_dates():
    facts = extract("参加工作时间：1973年9月　入党时间：1980年7月1日\n参加工作日期 一九七三年九月")
    assert facts.work_start_dates == ["1973-09", "1973-09"]
    assert extract("参加工作时间以劳动部门审批的招工表为准。").work_start_dates == []


@pytest.mark.parametrize(
    ("text", "work_start"),
    [
        ("参加工作时间：78.9", "1978-09"),
        ("参加工作时间 78年9月", "1978-09"),
        ("参加革命工作时间：一九七八年九月", "1978-09"),
        ("参加工作时间：1978.09　工资 78.5 元", "1978-09"),
        ("参加工作时间：民国三十七年五月", "1948-05"),
    ],
)
def test_work_start_in_every_form_files_write_it(text, work_start):
    assert extract(text).work_start_dates == [work_start]


def test_a_two_digit_year_is_a_date_only_after_a_date_label():
    assert extract("月工资 78.5 元").dates == [] and extract("出生年月：45.3").birth_dates == ["1945-03"]


def test_page_of_someone_else_is_flagged_and_masked():
    me = RetireeFacts("王伟", citizen_id_for("110102", date(1955, 6, 1), 12, "M"), date(1955, 6, 1))
    other = citizen_id_for("110105", date(1958, 2, 3), 40, "F")
    findings = compare(7, extract(f"姓名：李娜 公民身份号码：{other} 出生日期：1958年2月3日"), me)
    assert {f.code for f in findings} == {"misfiled.citizen_id", "misfiled.name", "misfiled.birth_date"}
    assert all(f.page == 7 for f in findings)
    assert other not in str([f.as_dict() for f in findings])  # masked in the report
    assert compare(1, extract(f"姓名：王伟人 {me.citizen_id} 出生日期：1955年6月"), me) == []


def test_words_joined_as_written():
    assert join_words(["根据", "国家", "有关", "规定"]) == "根据国家有关规定"
    assert join_words(["出生", "1962", "年"]) == "出生1962年"
    assert join_words(["Grade", "A", "工资"]) == "Grade A工资"


def catalogue(*pages):
    return Catalogue(
        "J1-RS-000001", tuple(CatalogueEntry(f"1-{i}", "1", "第一类", f"材料{i}", n) for i, n in enumerate(pages, 1))
    )


def test_linkage_counting_every_scanned_page():
    linked, findings = link_pages(catalogue(2, 1), [False, True, False])
    assert findings == [] and [(m.first_page, m.last_page) for m in linked] == [(1, 2), (3, 3)]


def test_linkage_with_uncounted_blank_backs():
    linked, findings = link_pages(catalogue(1, 2), [False, True, False, True, False, True])
    assert findings == [] and [(m.first_page, m.last_page) for m in linked] == [(1, 2), (3, 6)]


def test_linkage_count_mismatch_is_a_hard_failure():
    linked, findings = link_pages(catalogue(2, 2), [False, False, False])
    assert linked == [] and findings[0].code == "page_count.mismatch" and findings[0].severity == "error"


def test_a_cadre_forms_statements_cover_the_fact_sheet():
    """三龄两历一身份 as a 干部履历表 prints them, each with the text it was read from."""
    who = citizen_id_for("110102", date(1955, 6, 1), 12, "M")
    text = (
        "姓名：王伟 性别：男 民族：回族 籍贯：河北保定\n出生年月：1955.06 参加革命工作时间：78.9\n"
        f"入党时间：一九八〇年七月 文化程度：高中 毕业时间：1973年7月\n公民身份号码：{who}"
    )
    stated = {(s.kind, s.value) for s in statements(text)}
    assert stated == {
        ("birth_date", "1955-06"),
        ("work_start", "1978-09"),
        ("party_joined", "1980-07"),
        ("education", "高中"),
        ("graduated", "1973-07"),
        ("ethnicity", "回"),
        ("native_place", "河北保定"),
        ("citizen_id", who),
    }
    excerpts = {s.kind: s.excerpt for s in statements(text)}
    assert excerpts["work_start"] == "参加革命工作时间：78.9" and excerpts["party_joined"] == "入党时间：一九八〇年七月"
    facts = extract(text)
    assert facts.party_dates == ["1980-07"] and facts.ethnicities == ["回"] and facts.native_places == ["河北保定"]
    assert extract("民族：土家族").ethnicities == ["土家"]  # the longer name, not 土
    assert statements("本表由组织部门填写。民族团结") == []


def test_date_spans_find_a_date_however_it_is_written():
    text = "一九七八年九月进厂，1978.09转正，出生年月：78.9，工资 78.5 元"
    spans = date_spans(text)
    assert [(text[s:e], v) for s, e, v in spans] == [
        ("一九七八年九月", "1978-09"),
        ("1978.09", "1978-09"),
        ("78.9", "1978-09"),
    ]


# Numbers whose county code was created after the holder's birth: the code is that of the office that
# issued the card (Chongqing's 50… from 1997, 渝北 1994, 昌平区 1999, 吴中区 2001, 秀英区 2002). python-stdnum's
# cn.ric refuses every one of them; the archive's one rule (digitise/citizen_id.py) takes them.
CODES_NEWER_THAN_THEIR_HOLDERS = [
    "500103195801018266",
    "210202195406197073",
    citizen_id_for("500112", date(1950, 3, 4), 5, "M"),
    citizen_id_for("110114", date(1955, 11, 30), 77, "F"),
    citizen_id_for("320506", date(1949, 1, 1), 0, "M"),
    citizen_id_for("460105", date(1952, 7, 19), 301, "F"),
]


@pytest.mark.parametrize("number", CODES_NEWER_THAN_THEIR_HOLDERS)
def test_an_id_whose_county_code_is_younger_than_its_holder_is_valid(number):
    from stdnum.cn import ric

    from digitise import citizen_id

    assert not ric.is_valid(number)  # why the rule is ours: stdnum checks the county's creation year
    assert citizen_id.check(number) == number and citizen_id.is_valid(number.lower())
    facts = extract(f"姓名：王秀英\n公民身份号码：{number}")
    assert facts.citizen_ids == [number] and facts.invalid_ids == []
    assert [s.value for s in statements(f"公民身份号码：{number}") if s.kind == "citizen_id"] == [number]


def test_a_page_naming_a_chongqing_retiree_born_before_1997_is_seen_as_anothers():
    me = RetireeFacts("王秀英", "500103195801018266", date(1958, 1, 1))
    other = "210202195406197073"
    # The retiree's own page raises nothing; one with another's ID (county code younger than him) is flagged.
    assert compare(3, extract(f"姓名：王秀英 公民身份号码：{me.citizen_id}"), me) == []
    findings = compare(4, extract(f"公民身份号码：{other}"), me)
    assert [f.code for f in findings] == ["misfiled.citizen_id"] and findings[0].page == 4


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("990103195801018266", "citizen_id.check_digit"),  # a changed digit shows in the check character first
        ("991030195801010016", "citizen_id.region"),  # 99 is no province, check character right
        ("500103185001010013", "citizen_id.birth_date"),  # 1850
        ("50010319580230001", "citizen_id.format"),
    ],
)
def test_what_the_one_rule_refuses(number, code):
    from digitise import citizen_id

    with pytest.raises(citizen_id.CitizenIdError) as refused:
        citizen_id.check(number)
    assert refused.value.code == code and "公民身份号码" in refused.value.message
    assert not citizen_id.is_valid(number)


def test_each_fact_value_is_located_on_the_characters_it_was_read_from():
    """The sidecar's fact boxes: the value's characters within the line, across a cell rule, not its label."""
    from digitise.facts import locate
    from digitise.ocr import OcrLine, OcrWord

    def line(top, *words):  # (text, left, width, confidence): each character 50 px wide
        ws = tuple(OcrWord(t, left, top, width, 40, conf) for t, left, width, conf in words)
        text = "".join(w.text for w in ws)
        return OcrLine(text, ws[0].left, top, ws[-1].left + ws[-1].width - ws[0].left, 40, ws)

    good = "110102195706130023"
    bad = "110102195706130024"
    lines = [
        line(100, ("姓名：王伟", 100, 250, 95.0)),
        line(200, ("出生日期：", 100, 250, 97.0), ("|", 360, 10, 50.0), ("1957年6月13日", 400, 500, 81.0)),
        line(300, (f"公民身份号码：{good}", 100, 1250, 90.0)),
        line(400, (f"身份证{bad}", 100, 1050, 70.0)),
    ]
    found = {(f.fact, f.valid): f for f in locate(lines)}
    assert list(found) == [("name", None), ("birth_date", None), ("citizen_id", True), ("citizen_id", False)]
    assert found["name", None].value == "王伟" and found["name", None].box == (250, 100, 350, 140)
    birth = found["birth_date", None]
    assert birth.value == "1957-06-13" and birth.box == (400, 200, 900, 240) and birth.confidence == 81.0
    assert birth.lines == (1,) and birth.excerpt == "出生日期：1957年6月13日"
    assert found["citizen_id", True].value == good and found["citizen_id", True].box == (450, 300, 1350, 340)
    assert found["citizen_id", False].value == bad and found["citizen_id", False].box[0] == 250
