"""The SearchIndex contract, run against the embedded index and, when configured, Elasticsearch."""

import os
import uuid
from datetime import date

import pytest

from digitise.facts import date_spans
from search import (
    DossierDocument,
    EmbeddedSearchIndex,
    MaterialEntry,
    PageText,
    Scope,
    SearchError,
    SearchIndex,
    SearchQuery,
)

BUREAU, OTHER = 1, 2
SCOPE = Scope(custodian_id=BUREAU)


@pytest.fixture(params=["embedded", "elasticsearch"])
def index(request, tmp_path):
    if request.param == "embedded":
        idx = EmbeddedSearchIndex(tmp_path / "search")
        yield idx
        idx.close()
        return
    url = os.environ.get("ARCHIVE_TEST_ELASTICSEARCH_URL")
    if not url:
        print("\nSKIPPED: Elasticsearch adapter contract tests — set ARCHIVE_TEST_ELASTICSEARCH_URL to run them")
        pytest.skip("Elasticsearch adapter: ARCHIVE_TEST_ELASTICSEARCH_URL is not set, contract tests not run")
    from search.elastic import ElasticsearchIndex

    alias = f"test-{uuid.uuid4().hex[:12]}"
    idx = ElasticsearchIndex(url, alias)
    yield idx
    for name in idx.es.indices.get(index=f"{alias}-*"):
        idx.es.indices.delete(index=name)
    idx.es.indices.delete_index_template(name=alias)
    idx.close()


def doc(n: int, **kw) -> DossierDocument:
    base = dict(
        dossier_id=n,
        archival_code=f"J102-RS-{n:06d}",
        name="张三",
        citizen_id=f"1101051962031{n:04d}X"[-18:],
        birth_date=date(1962, 3, 15),
        retirement_date=date(2022, 3, 31),
        enterprise_id=10,
        enterprise_name="北京第一机床厂",
        custodian_id=BUREAU,
        status="in_custody",
        digitisation="done",
        classified=False,
        materials=(
            MaterialEntry("1-1", 1, "干部履历表"),
            MaterialEntry("4-1", 4, "工资审批表"),
            MaterialEntry("9-1", 9, "退休审批表"),
        ),
        pages=(
            PageText(1, "干部履历表\n姓名 张三 参加工作时间 1980年7月", "1-1", 1),
            PageText(2, "调整工资审批表，经研究同意", "4-1", 4),
            PageText(3, "职工退休审批表。同意退休。", "9-1", 9),
        ),
    )
    base.update(kw)
    return DossierDocument(**base)


def ids(index: SearchIndex, text: str = "", **kw) -> list[int]:
    return [h.dossier_id for h in index.search(SearchQuery(kw.pop("scope", SCOPE), text, **kw)).hits]


def test_adapter_implements_the_port(index):
    assert isinstance(index, SearchIndex)


def test_two_character_name_and_phrase_match_without_false_hits_across_characters(index):
    index.upsert(
        [
            doc(1, name="王伟"),
            doc(2, name="王伟明"),
            doc(3, name="王明", pages=(PageText(1, "同事李伟签字", None, 0),)),  # 王 and 伟 apart
            doc(4, materials=(), pages=(PageText(1, "退休申请。审批表另附", None, 0),)),  # 退休 … 审批表 apart
        ]
    )
    assert sorted(ids(index, "王伟")) == [1, 2]
    assert sorted(ids(index, "退休审批表")) == [1, 2, 3]  # their class-9 title or page
    assert 4 not in ids(index, "退休审批表")


def test_citizen_id_by_all_18_characters_and_by_the_last_6(index):
    index.upsert([doc(1, citizen_id="11010519620315123X"), doc(2, citizen_id="110105196203154321")])
    assert ids(index, "11010519620315123X") == [1]
    assert ids(index, "11010519620315123x") == [1]
    assert ids(index, "15123X") == [1]
    assert ids(index, "154321") == [2]
    assert ids(index, "5123X") == []  # not a tail of six: no partial matches
    hit = index.search(SearchQuery(SCOPE, "15123X")).hits[0]
    assert "citizen_id" in hit.fields


def test_hits_name_the_matching_pages_with_highlighted_snippets(index):
    index.upsert([doc(1)])
    hit = index.search(SearchQuery(SCOPE, "参加工作时间")).hits[0]
    assert hit.page_count == 1
    (page,) = hit.pages
    assert (page.number, page.material, page.top_class) == (1, "1-1", 1)
    assert "<mark>参加工作时间</mark>" in page.snippet
    hit = index.search(SearchQuery(SCOPE, "审批表")).hits[0]
    assert [p.number for p in hit.pages] == [2, 3]
    assert "titles" in hit.fields


def test_a_phrase_never_runs_from_one_page_into_the_next(index):
    index.upsert([doc(1, pages=(PageText(1, "……工资", "4-1", 4), PageText(2, "审批表", "4-1", 4)))])
    assert ids(index, "工资审批表", material_classes=frozenset()) == [1]  # via the catalogue title
    index.upsert([doc(1, materials=(), pages=(PageText(1, "……工资", None, 0), PageText(2, "审批表", None, 0)))])
    assert ids(index, "工资审批表") == []
    assert ids(index, "工资 审批表") == [1]  # two phrases, both somewhere in the file


def test_structured_filters_combine_with_text(index):
    index.upsert(
        [
            doc(1, enterprise_id=10, birth_date=date(1960, 1, 1), retirement_date=date(2020, 1, 31)),
            doc(2, enterprise_id=11, enterprise_name="首都钢铁公司", birth_date=date(1965, 6, 1)),
            doc(3, enterprise_id=10, status="on_loan", birth_date=date(1970, 1, 1), retirement_date=None),
            doc(4, materials=(MaterialEntry("1-1", 1, "干部履历表"),), pages=()),
        ]
    )
    assert sorted(ids(index, "审批表", enterprise_ids=frozenset({10}))) == [1, 3]
    assert ids(index, "", statuses=frozenset({"on_loan"})) == [3]
    assert sorted(ids(index, "", birth_from=date(1961, 1, 1), birth_to=date(1969, 12, 31))) == [2, 4]
    assert ids(index, "", retired_to=date(2021, 12, 31)) == [1]
    assert sorted(ids(index, "", material_classes=frozenset({9}))) == [1, 2, 3]
    assert sorted(ids(index, "首钢 审批表")) == []  # 首钢 is not in 首都钢铁公司
    assert ids(index, "首都钢铁") == [2]


def test_material_class_filter_keeps_dossiers_holding_that_class(index):
    index.upsert([doc(1), doc(2, materials=(MaterialEntry("4-1", 4, "工资审批表"),))])
    assert sorted(ids(index, "审批表")) == [1, 2]
    assert ids(index, "审批表", material_classes=frozenset({9})) == [1]  # 2 holds no class-9 material
    assert ids(index, "", material_classes=frozenset({4, 9})) == [1, 2]


def test_a_requesters_class_filter_answers_only_within_the_grant(index):
    """Issue 40 (Medium): filtering by 第八类 (处分材料) told a requester granted only 第四类 that the file holds
    处分材料. A requester's class filter looks at the granted classes of each file and nothing else."""
    penalties = MaterialEntry("8-1", 8, "处分决定")
    index.upsert([doc(1, materials=(MaterialEntry("4-1", 4, "工资审批表"), penalties)), doc(2)])
    requester = Scope(grants={1: frozenset({4}), 2: frozenset({8})}, exclude_classified=True)
    assert ids(index, "", material_classes=frozenset({8}), scope=requester) == []  # 1's 8 not granted, 2 has none
    assert ids(index, "", material_classes=frozenset({4}), scope=requester) == [1]
    assert ids(index, "", material_classes=frozenset({4, 8}), scope=requester) == [1]
    assert ids(index, "", material_classes=frozenset({8})) == [1]  # the bureau's own staff see what the file holds


def test_facets_count_every_hit_not_just_the_page_shown(index):
    index.upsert(
        [doc(i, enterprise_id=10 + i % 3, status="on_loan" if i % 5 == 0 else "in_custody") for i in range(1, 31)]
    )
    result = index.search(SearchQuery(SCOPE, "审批表", limit=5))
    assert result.total == 30 and len(result.hits) == 5
    assert result.facets["enterprise"] == {"10": 10, "11": 10, "12": 10}
    assert result.facets["status"] == {"in_custody": 24, "on_loan": 6}
    assert result.facets["material_class"] == {"1": 30, "4": 30, "9": 30}
    assert result.facets["digitisation"] == {"done": 30}


def test_scope_is_applied_inside_the_search(index):
    index.upsert(
        [
            doc(1),
            doc(2, custodian_id=OTHER),
            doc(3, classified=True),
            doc(4),
        ]
    )
    result = index.search(SearchQuery(SCOPE, "审批表"))
    assert sorted(h.dossier_id for h in result.hits) == [1, 3, 4]
    assert result.total == 3 and result.facets["status"] == {"in_custody": 3}  # counts never include OTHER's
    requester = Scope(grants={1: frozenset({4}), 3: frozenset({4})}, exclude_classified=True)
    assert ids(index, "审批表", scope=requester) == [1]  # 3 is classified, the others not granted
    assert ids(index, "退休", scope=requester) == []  # class 9 pages and titles are not granted …
    assert ids(index, "张三", scope=requester) == [1]  # … the particulars are
    assert [p.top_class for p in index.search(SearchQuery(requester, "审批表")).hits[0].pages] == [4]
    assert ids(index, "审批表", scope=Scope(grants={})) == []
    both = Scope(grants={1: frozenset({9}), 2: frozenset({4})})  # grants may span bureaus …
    assert sorted(ids(index, "审批表", scope=both)) == [1, 2]
    assert ids(index, "工资", scope=both) == [2]  # … and classes differ per dossier
    result = index.search(SearchQuery(both, "审批表"))
    assert result.total == 2 and result.facets["status"] == {"in_custody": 2}


def page(number: int, text: str, material: str = "1-1", top_class: int = 1) -> PageText:
    """A page as the application indexes it: with the dates it writes, read by digitise.facts."""
    return PageText(number, text, material, top_class, tuple(date_spans(text)))


def test_a_date_is_found_however_the_page_writes_it(index):
    index.upsert(
        [
            doc(1, pages=(page(1, "参加工作时间：一九七八年九月"),)),
            doc(2, pages=(page(1, "1978.09.01 入厂学徒"), page(2, "工资 78.5 元", "4-1", 4))),
            doc(3, pages=(page(1, "出生年月：55.6 参加工作时间：78.9"),)),
            doc(4, pages=(page(1, "1979年9月 调入"), page(2, "78.9 元"))),  # 78.9 without a label is a number
        ]
    )
    assert sorted(ids(index, dates=("1978-09",))) == [1, 2, 3]
    assert ids(index, dates=("1978-09-01",)) == [2]  # a day asked for: only pages that write that day
    assert sorted(ids(index, dates=("1978",))) == [1, 2, 3]
    hit = next(h for h in index.search(SearchQuery(SCOPE, dates=("1978-09",))).hits if h.dossier_id == 1)
    assert hit.page_count == 1 and "<mark>一九七八年九月</mark>" in hit.pages[0].snippet
    assert ids(index, "入厂", dates=("1978-09",)) == [2]  # words and dates together
    # A particular's date is found too, and reported as that field.
    found = index.search(SearchQuery(SCOPE, dates=("1962-03",)))
    assert found.total == 4 and all("birth_date" in h.fields for h in found.hits)
    # A requester finds a date only on the pages granted.
    requester = Scope(grants={2: frozenset({4}), 3: frozenset({1})})
    assert ids(index, dates=("1978-09",), scope=requester) == [3]
    with pytest.raises(SearchError):
        SearchQuery(SCOPE, dates=("1978年9月",))  # the application normalises; the port takes ISO only


def test_work_start_range_uses_the_files_facts(index):
    index.upsert(
        [
            doc(1, work_start_dates=("1978-09",)),
            doc(2, work_start_dates=("1985-03-01",)),
            doc(3, work_start_dates=("1977-12", "1978-01-05")),  # the file disagrees: either value may be asked for
            doc(4),  # unknown
        ]
    )
    in_1978 = dict(work_start_from=date(1978, 1, 1), work_start_to=date(1978, 12, 31))
    assert sorted(ids(index, **in_1978)) == [1, 3]
    assert sorted(ids(index, work_start_to=date(1980, 1, 1))) == [1, 3]  # the unknown is not "before"
    assert ids(index, work_start_from=date(1980, 1, 1)) == [2]
    found = index.search(SearchQuery(SCOPE, dates=("1985-03",)))
    assert [h.dossier_id for h in found.hits] == [2] and "work_start" in found.hits[0].fields


def test_updates_replace_and_deletes_remove(index):
    index.upsert([doc(1, name="李四"), doc(2)])
    index.upsert([doc(1, name="赵五")])
    assert ids(index, "李四") == [] and ids(index, "赵五") == [1]
    index.delete([2, 99])  # an id never indexed is no error
    assert ids(index) == [1]
    assert index.fingerprints() == {1: doc(1, name="赵五").fingerprint()}


def test_rebuild_switches_to_a_new_index_at_once(index):
    index.upsert([doc(1), doc(2)])
    assert index.rebuild(iter([doc(2, name="钱六"), doc(3)])) == 2
    assert ids(index, "钱六") == [2]
    assert sorted(ids(index, "")) == [2, 3]
    assert set(index.fingerprints()) == {2, 3}


def test_no_text_lists_by_archival_code(index):
    index.upsert([doc(3), doc(1), doc(2)])
    assert ids(index) == [1, 2, 3]


def test_bad_queries_are_refused_with_the_field_named():
    with pytest.raises(SearchError, match="either"):
        Scope(BUREAU, grants={1: frozenset({4})})
    with pytest.raises(SearchError, match="either"):
        Scope()
    with pytest.raises(SearchError, match="limit"):
        SearchQuery(SCOPE, limit=0)
    with pytest.raises(SearchError, match="offset"):
        SearchQuery(SCOPE, offset=-1)
    with pytest.raises(SearchError, match="material class"):
        SearchQuery(SCOPE, material_classes=frozenset({11}))


def test_pagination_past_ten_thousand_hits(index):
    many = [doc(i, materials=(), pages=()) for i in range(1, 10_051)]
    for start in range(0, len(many), 2000):
        index.upsert(many[start : start + 2000])
    result = index.search(SearchQuery(SCOPE, "张三", offset=10_040, limit=20))
    assert result.total == 10_050
    assert len(result.hits) == 10
    assert len({h.dossier_id for h in result.hits}) == 10
    seen = {h.dossier_id for h in index.search(SearchQuery(SCOPE, "", offset=10_000, limit=50)).hits}
    assert seen == set(range(10_001, 10_051))
