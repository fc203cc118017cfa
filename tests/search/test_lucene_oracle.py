"""search/analysis.py against real Lucene: the same tokens and offsets as Lucene's CJKAnalyzer (the chain of
Elasticsearch's `cjk` analyzer), so both search adapters find the same dossiers.

The oracle is Debian's liblucene8-java run by default-jdk-headless (scripts/debian-packages-test.txt);
where either is absent these tests say SKIPPED with the reason. Lucene's own TestCJKAnalyzer cases are
transcribed below as plain tests, which need no Java.
"""

import base64
import glob
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.analysis import tokens

ORACLE_SOURCE = Path(__file__).parent / "lucene" / "CjkOracle.java"


@pytest.fixture(scope="module")
def lucene(tmp_path_factory: pytest.TempPathFactory):
    jars = glob.glob("/usr/share/java/lucene-core-*.jar") + glob.glob("/usr/share/java/lucene-analyzers-common-*.jar")
    if len(jars) < 2 or not shutil.which("javac") or not shutil.which("java"):
        pytest.skip(
            "SKIPPED: Lucene oracle needs Debian's liblucene8-java and default-jdk-headless (make test installs them)"
        )
    classes = tmp_path_factory.mktemp("oracle")
    classpath = ":".join([str(classes), *jars])
    subprocess.run(["javac", "-cp", classpath, "-d", str(classes), str(ORACLE_SOURCE)], check=True)

    def analyse(texts: list[str]) -> list[list[tuple[str, int, int]]]:
        lines = "".join(base64.b64encode(t.encode("utf-8")).decode() + "\n" for t in texts)
        out = subprocess.run(
            ["java", "-cp", classpath, "CjkOracle"], input=lines.encode(), capture_output=True, check=True
        ).stdout.decode("utf-8")
        result = []
        for line in out.split("\n")[: len(texts)]:
            found = []
            for token in line.split("\x01") if line else []:
                term, _increment, start, end = token.split("\t")
                found.append((term, int(start), int(end)))
            result.append(found)
        return result

    return analyse


# What personnel files hold, as OCR and PDF text extraction give it.
PERSONNEL_TEXT = [
    "姓名：王伟　性别：男　出生日期：1955.06.01",
    "公民身份号码：11010219550601123X",
    "参加工作时间：一九七三年九月，二〇〇三年十月退休",
    "J102-RS-000042 退休审批表（第1-3页）",
    "工资 78.5 元；调整后 1,000 元",
    "⽇本 ⾦额 ⼈事档案",  # Kangxi radicals from PDF text extraction
    "scan_001.tif 3'5 Mary·Smith it's U.S.A. e.g.",
    "①身份证 ㈠工资 ²½ Ⅻ ⓐ",
    "ＡＢＣ１２３ 职工 Ｊ１０２－ＲＳ",
    "a：b a；b 1；2 1：2 ａ＿ｂ",
    "the 王伟 of 退休 and 审批",
    "Москва 一 روبرت موير",
]


def test_personnel_text_is_analysed_exactly_as_lucene_does(lucene):
    assert [list(tokens(t)) for t in PERSONNEL_TEXT] == lucene(PERSONNEL_TEXT)


# Han, 〇 and the radicals, kana, full-width forms, ASCII letters, digits and the punctuation between them.
_ALPHABET = st.sampled_from(
    list("王伟退休审批表年月日〇○⽇⾦あいカ가")
    + list("ＡＢｃ１２：，．＿")
    + list("abcXYZ0123456789")
    + list(" _.,:;'·-（）()，。：、\u3000")
    + ["①", "²", "ⓐ", "Ⅻ", "д"]
)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.text(_ALPHABET, max_size=24), min_size=400, max_size=400))
def test_any_mix_of_these_characters_is_analysed_exactly_as_lucene_does(lucene, texts):
    """One batch of 400 generated strings per run (the oracle starts a JVM per call)."""
    expected = lucene(texts)
    differing = [(t, list(tokens(t)), e) for t, e in zip(texts, expected, strict=True) if list(tokens(t)) != e]
    assert not differing, differing[:3]


# Lucene's TestCJKAnalyzer (lucene/analysis/common, cjk), as (text, [(term, start, end)]).
LUCENE_CASES = [
    ("一二三四五六七八九十", [("一二", 0, 2), ("二三", 1, 3), ("三四", 2, 4), ("四五", 3, 5), ("五六", 4, 6),
                          ("六七", 5, 7), ("七八", 6, 8), ("八九", 7, 9), ("九十", 8, 10)]),
    ("一 二三四 五六七八九 十", [("一", 0, 1), ("二三", 2, 4), ("三四", 3, 5), ("五六", 6, 8), ("六七", 7, 9),
                             ("七八", 8, 10), ("八九", 9, 11), ("十", 12, 13)]),
    ("abc defgh ijklmn opqrstu vwxy z", [("abc", 0, 3), ("defgh", 4, 9), ("ijklmn", 10, 16),
                                         ("opqrstu", 17, 24), ("vwxy", 25, 29), ("z", 30, 31)]),
    ("あい", [("あい", 0, 2)]),
    ("あい   ", [("あい", 0, 2)]),
    ("test", [("test", 0, 4)]),
    ("test   ", [("test", 0, 4)]),
    ("あいtest", [("あい", 0, 2), ("test", 2, 6)]),
    ("testあい    ", [("test", 0, 4), ("あい", 4, 6)]),
    ("あいうえおabcかきくけこ", [("あい", 0, 2), ("いう", 1, 3), ("うえ", 2, 4), ("えお", 3, 5), ("abc", 5, 8),
                             ("かき", 8, 10), ("きく", 9, 11), ("くけ", 10, 12), ("けこ", 11, 13)]),
    ("あいうえおabんcかきくけ こ", [("あい", 0, 2), ("いう", 1, 3), ("うえ", 2, 4), ("えお", 3, 5), ("ab", 5, 7),
                               ("ん", 7, 8), ("c", 8, 9), ("かき", 9, 11), ("きく", 10, 12), ("くけ", 11, 13),
                               ("こ", 14, 15)]),
    ("一 روبرت موير", [("一", 0, 1), ("روبرت", 2, 7), ("موير", 8, 12)]),
    ("一 رُوبرت موير", [("一", 0, 1), ("رُوبرت", 2, 8), ("موير", 9, 13)]),
    ("𩬅艱鍟䇹愯瀛", [("𩬅艱", 0, 2), ("艱鍟", 1, 3), ("鍟䇹", 2, 4), ("䇹愯", 3, 5), ("愯瀛", 4, 6)]),
    ("一", [("一", 0, 1)]),
    ("一丁丂", [("一丁", 0, 2), ("丁丂", 1, 3)]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), LUCENE_CASES)
def test_lucenes_own_cjk_cases(text, expected):
    """Offsets in code points (Python's); Lucene counts UTF-16 units, so its 𩬅 case reads 0–3, 2–4 …."""
    assert list(tokens(text)) == expected
