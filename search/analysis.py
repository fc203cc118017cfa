"""Text analysis: the same tokens Elasticsearch's built-in `cjk` analyzer makes, in Python.

Both adapters must find the same dossiers, so the embedded index is fed the tokens this module
makes and Elasticsearch analyses with `cjk` itself. The `cjk` analyzer is: standard tokenizer
(Unicode word boundaries: every Han character its own token) → `cjk_width` (full-width ASCII to
half-width) → lowercase → `cjk_bigram` (adjacent CJK characters become overlapping bigrams; a
CJK character with no CJK neighbour stays a unigram) → English stop words.

So 王伟明 is indexed as 王伟 伟明, and a query 退休审批表 is the phrase 退休 休审 审批 批表: a
2-character name and a phrase both match, and two characters that only occur apart never do.
"""

import re
from collections.abc import Iterator

ANALYZER_VERSION = "cjk-2"  # bump when tokens change: every embedded index must then be rebuilt

# Elasticsearch's `_cjk_` stop words (the English list the cjk analyzer uses).
STOP_WORDS = frozenset(
    "a and are as at be but by for if in into is it no not of on or s such t that the their then there these "
    "they this to was will with www".split()
)


# 〇 (U+3007, the zero of dates written in characters: 二〇〇三年), 々 and the Suzhou numerals are of the Han
# script, which the standard tokenizer types IDEOGRAPHIC, so `cjk_bigram` pairs them with their neighbours.
_CJK = (
    "\u3005\u3007\u3021-\u3029\u3038-\u303b"
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_WORD = r"[0-9a-z]+(?:(?:(?<=[0-9])[.,](?=[0-9])|(?<=[a-z])[.'](?=[a-z]))[0-9a-z]+)*"
_OTHER = rf"(?:(?![\x00-\x7f{_CJK}])[^\W_])"
# One token per match, found by a zero-width look-ahead at every position, so overlapping
# bigrams come out of one `findall`: a CJK pair (Han, Hiragana, Katakana, Hangul: the scripts
# `cjk_bigram` bigrams) | a CJK character with no CJK neighbour | an ASCII word — letters and
# digits run together (J102); `.` or `'` between letters and `.` or `,` between digits keep it
# whole (it's, 1962.03, 1,000), as the standard tokenizer's word-boundary rules do — starting
# where no word goes on | a run of other scripts' letters and digits (Cyrillic, ①).
_TOKEN = re.compile(
    rf"(?=([{_CJK}][{_CJK}]"
    rf"|(?<![{_CJK}])[{_CJK}](?![{_CJK}])"
    rf"|(?<![0-9a-z])(?!(?<=[0-9][.,])[0-9])(?!(?<=[a-z][.'])[a-z]){_WORD}"
    rf"|(?<!{_OTHER}){_OTHER}+))"
)
_LATIN = re.compile("[a-z]")
_ALL_CJK = re.compile(rf"[{_CJK}]+")
# Full-width letters and digits, and full-width ．，＇ inside a word, are what folding can change
# for tokens; other full-width punctuation (，。) separates tokens folded or not.
_TO_FOLD = re.compile("[\\uff10-\\uff19\\uff21-\\uff3a\\uff41-\\uff5a]|[0-9a-z][\\uff07\\uff0c\\uff0e][0-9a-z]")
_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}


def fold_width(text: str) -> str:
    """`cjk_width`: full-width ASCII (Ａ１，) to ASCII, ideographic space to space; then lowercase."""
    folded = text.lower()
    if _TO_FOLD.search(folded) is None:  # most OCR text: nothing to fold, and translate is slow
        return folded
    return folded.translate(_WIDTH).lower()


def is_cjk(text: str) -> bool:
    return _ALL_CJK.fullmatch(text) is not None


Token = tuple[str, int, int]  # text, start, end (offsets in the original text, for highlighting)


def tokens(text: str) -> Iterator[Token]:
    """The tokens of `text` in order, with their offsets."""
    for m in _TOKEN.finditer(fold_width(text)):
        if m.group(1) not in STOP_WORDS:
            yield m.group(1), m.start(1), m.end(1)


def terms(text: str) -> list[str]:
    """Just the token strings (what an index stores): `tokens` without offsets, much faster."""
    folded = fold_width(text)
    found = _TOKEN.findall(folded)
    if _LATIN.search(folded):  # only Latin words can be stop words
        return [t for t in found if t not in STOP_WORDS]
    return found


def parse_query(text: str) -> list[list[str]]:
    """A query as phrases: whitespace separates phrases that must all match; "…" keeps one whole.

    Each phrase is the token list of its words, matched as adjacent tokens (a phrase query), which
    is how 退休审批表 finds 退休审批表 and not 退休 … 审批表.
    """
    phrases: list[list[str]] = []
    for i, part in enumerate(text.replace("“", '"').replace("”", '"').split('"')):
        chunks = [part] if i % 2 else part.split()
        for chunk in chunks:
            words = terms(chunk)
            if words and words not in phrases:
                phrases.append(words)
    return phrases


def find_phrase(page_tokens: list[Token], phrase: list[str]) -> Iterator[tuple[int, int]]:
    """Offsets (start, end) of each place the phrase occurs among the page's tokens."""
    n = len(phrase)
    for i in range(len(page_tokens) - n + 1):
        if page_tokens[i][0] == phrase[0] and all(page_tokens[i + k][0] == phrase[k] for k in range(1, n)):
            yield page_tokens[i][1], page_tokens[i + n - 1][2]
