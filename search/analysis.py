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
import unicodedata
from collections.abc import Iterator
from functools import cache

ANALYZER_VERSION = "cjk-3"  # bump when tokens change: every embedded index must then be rebuilt

# Elasticsearch's `_cjk_` stop words (the English list the cjk analyzer uses).
STOP_WORDS = frozenset(
    "a and are as at be but by for if in into is it no not of on or s such t that the their then there these "
    "they this to was will with www".split()
)


# 〇 (U+3007, the zero of dates written in characters: 二〇〇三年), 々 and the Suzhou numerals are of the Han
# script, which the standard tokenizer types IDEOGRAPHIC, so `cjk_bigram` pairs them with their neighbours;
# so are the Kangxi and supplementary radicals PDF text extraction produces for common characters (⽇ for 日).
_CJK = (
    "\u2e80-\u2eff\u2f00-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b"
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)


def _classes(**wanted: tuple[str, ...]) -> dict[str, str]:
    """Character class bodies of every non-ASCII character in the given Unicode general categories, by name,
    from one pass over the code points (planes 0 and 1: plane 2 and up hold ideographs only)."""
    ranges: dict[str, list[list[int]]] = {name: [] for name in wanted}
    for code in range(0x80, 0x20000):
        category = unicodedata.category(chr(code))
        for name, categories in wanted.items():
            if category in categories and code != 0x200B:
                found = ranges[name]
                if found and found[-1][1] == code - 1:
                    found[-1][1] = code
                else:
                    found.append([code, code])
    return {
        name: "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" if b > a else re.escape(chr(a)) for a, b in found)
        for name, found in ranges.items()
    }


# UAX #29 word boundaries, as the standard tokenizer applies them to letters and digits (after width folding).
# "Other number" characters (①, ㈠, ², ½) are neither letters nor digits there, though Python's \\w has them;
# combining marks and format characters (the vowel signs of رُوبرت, a soft hyphen) stay with what they follow.
_DIGIT = r"\d"
_EXTEND = "_\u203f\u2040\u2054\ufe33\ufe34\ufe4d-\ufe4f"  # ExtendNumLet: joins anything (scan_001)
_BETWEEN_LETTERS = ":\u00b7\u0387\u05f4\u2027\ufe13\ufe55.\u2018\u2019\u2024\ufe52'"  # MidLetter, MidNumLet, '
_BETWEEN_DIGITS = ",;\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54.\u2018\u2019\u2024\ufe52'"


@cache
def _token_pattern() -> re.Pattern[str]:
    """Built on first use, not at import: the Unicode classes and the pattern take 0.13 s, which every
    process importing search (the CLI, each worker) would otherwise pay whether it analyses text or not."""
    classes = _classes(other_number=("No",), marks=("Mn", "Mc", "Me", "Cf"))
    letter = rf"(?:[a-z\u24b6-\u24e9{classes['marks']}]|(?![\x00-\x7f{_CJK}{classes['other_number']}])(?!\d)[^\W_])"
    part = rf"(?:[0-9a-z{_EXTEND}]|{letter}|{_DIGIT})"  # ASCII first: most words are
    join = rf"(?:(?<={letter})[{_BETWEEN_LETTERS}](?={letter})|(?<={_DIGIT})[{_BETWEEN_DIGITS}](?={_DIGIT}))"
    # A word: letters, digits and connectors, held together across one mid character (it's, 1962.03, 1,000,
    # Mary·Smith, 3'5), with at least one letter or digit; it starts where no word goes on.
    # The cheap tests come first: at most positions (Han, punctuation) one character class fails the word
    # before any look-behind runs (the analyzer's speed is the indexer's).
    word = (
        rf"(?=[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\u3000-\u303f\uff00-\uff0f{_CJK}])"
        rf"(?=[{_EXTEND}]*(?:[0-9a-z]|{letter}|{_DIGIT}))"
        rf"(?<!{part})(?!(?<={letter}[{_BETWEEN_LETTERS}]){letter})(?!(?<={_DIGIT}[{_BETWEEN_DIGITS}]){_DIGIT})"
        rf"{part}+(?:{join}{part}+)*"
    )
    # One token per match, found by a zero-width look-ahead at every position, so overlapping bigrams come
    # out of one `findall`: a CJK pair (Han, Hiragana, Katakana, Hangul: the scripts `cjk_bigram` bigrams)
    # | a CJK character with no CJK neighbour | a word of any other script.
    return re.compile(rf"(?=([{_CJK}][{_CJK}]|(?<![{_CJK}])[{_CJK}](?![{_CJK}])|{word}))")


_LATIN = re.compile("[a-z]")
_ALL_CJK = re.compile(rf"[{_CJK}]+")
# Full-width letters and digits, and full-width ．，＇ inside a word, are what folding can change
# for tokens; other full-width punctuation (，。) separates tokens folded or not.
_TO_FOLD = re.compile(
    "[\\uff10-\\uff19\\uff21-\\uff3a\\uff41-\\uff5a\\uff3f]|[0-9a-z][\\uff07\\uff0c\\uff0e\\uff1a\\uff1b][0-9a-z]"
)
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
    for m in _token_pattern().finditer(fold_width(text)):
        if m.group(1) not in STOP_WORDS:
            yield m.group(1), m.start(1), m.end(1)


def terms(text: str) -> list[str]:
    """Just the token strings (what an index stores): `tokens` without offsets, much faster."""
    folded = fold_width(text)
    found = _token_pattern().findall(folded)
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
