"""The analyzer is Elasticsearch's `cjk` one: these are the tokens `_analyze` gives for the same text."""

from search.analysis import find_phrase, parse_query, terms, tokens


def test_han_runs_become_overlapping_bigrams_and_a_lone_character_a_unigram():
    assert terms("王伟明") == ["王伟", "伟明"]
    assert terms("退休审批表") == ["退休", "休审", "审批", "批表"]
    assert terms("王 伟") == ["王", "伟"]  # apart: never the bigram 王伟
    assert terms("1962年3月15日") == ["1962", "年", "3", "月", "15", "日"]


def test_latin_digits_width_and_stop_words():
    assert terms("J102-RS-000001") == ["j102", "rs", "000001"]
    assert terms("ＡＢＣ１２３") == ["abc123"]  # full-width folded, lower-cased
    assert terms("the state of the art") == ["state", "art"]
    assert terms("1962.03 1,000 it's") == ["1962.03", "1,000", "it's"]
    assert terms("11010519620315123X") == ["11010519620315123x"]


def test_query_phrases():
    assert parse_query("王伟  参加工作时间") == [["王伟"], ["参加", "加工", "工作", "作时", "时间"]]
    assert parse_query('"工资 审批表"') == [["工资", "审批", "批表"]]
    assert parse_query("“退休审批表”") == [["退休", "休审", "审批", "批表"]]
    assert parse_query("  ，。 ") == []


def test_phrase_found_with_offsets_for_highlighting():
    text = "经审核，同意王伟明同志退休。退休审批表附后"
    spans = list(find_phrase(list(tokens(text)), ["退休", "休审", "审批", "批表"]))
    assert [text[s:e] for s, e in spans] == ["退休审批表"]
    assert list(find_phrase(list(tokens("退休 审批表")), ["退休", "休审", "审批", "批表"])) == []


def test_the_ideographic_zero_of_dates_pairs_like_han():
    # Lucene's CJKAnalyzer (the oracle run): 二〇〇三年十月 → 二〇 〇〇 〇三 三年 年十 十月.
    assert terms("二〇〇三年十月") == ["二〇", "〇〇", "〇三", "三年", "年十", "十月"]
    assert terms("〇") == ["〇"]
    assert terms("一九七八年九月") == ["一九", "九七", "七八", "八年", "年九", "九月"]
