"""Text analysis: the same tokens Elasticsearch's built-in `cjk` analyzer makes, in Python.

Both adapters must find the same dossiers, so the embedded index is fed the tokens this module
makes and Elasticsearch analyses with `cjk` itself. The `cjk` analyzer is: standard tokenizer
(Unicode word boundaries: every Han character its own token) → `cjk_width` (full-width ASCII to
half-width) → lowercase → `cjk_bigram` (adjacent CJK characters become overlapping bigrams; a
CJK character with no CJK neighbour stays a unigram) → English stop words.

So 王伟明 is indexed as 王伟 伟明, and a query 退休审批表 is the phrase 退休 休审 审批 批表: a
2-character name and a phrase both match, and two characters that only occur apart never do.
"""

from collections.abc import Iterator
from dataclasses import dataclass

ANALYZER_VERSION = "cjk-1"  # bump when tokens change: every embedded index must then be rebuilt

# Elasticsearch's `_cjk_` stop words (the English list the cjk analyzer uses).
STOP_WORDS = frozenset(
    "a and are as at be but by for if in into is it no not of on or s such t that the their then there these "
    "they this to was will with www".split()
)


def _is_cjk(ch: str) -> bool:
    # The scripts `cjk_bigram` bigrams by default: Han, Hiragana, Katakana, Hangul syllables.
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x3134F
        or 0x3040 <= o <= 0x30FF
        or 0xAC00 <= o <= 0xD7AF
    )


def fold_width(text: str) -> str:
    """`cjk_width`: full-width ASCII (Ａ１，) to ASCII, ideographic space to space; then lowercase."""
    return text.translate(_WIDTH).lower()


_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int  # offsets in the original text, for highlighting
    end: int


def _alnum_end(text: str, i: int) -> int:
    """End of a word of letters and digits starting at i (Unicode word-boundary rules, simplified).

    Letters and digits run together (J102 is one token); `.` or `'` between two letters and `.` or
    `,` between two digits keep the word whole (1962.03, 1,000), as the standard tokenizer does.
    """
    n = len(text)
    j = i
    while True:
        while j < n and (text[j].isascii() and text[j].isalnum()):
            j += 1
        if j + 1 < n and text[j + 1].isascii() and text[j + 1].isalnum():
            before, sep, after = text[j - 1], text[j], text[j + 1]
            if (before.isdigit() and after.isdigit() and sep in ".,") or (
                before.isalpha() and after.isalpha() and sep in ".'"
            ):
                j += 1
                continue
        return j


def tokens(text: str) -> Iterator[Token]:
    """The tokens of `text` in order, with their offsets."""
    folded = fold_width(text)
    n = len(folded)
    i = 0
    while i < n:
        ch = folded[i]
        if _is_cjk(ch):
            j = i + 1
            while j < n and _is_cjk(folded[j]):
                j += 1
            if j - i == 1:
                yield Token(ch, i, j)
            else:
                for k in range(i, j - 1):
                    yield Token(folded[k : k + 2], k, k + 2)
            i = j
        elif ch.isascii() and ch.isalnum():
            j = _alnum_end(folded, i)
            word = folded[i:j]
            if word not in STOP_WORDS:
                yield Token(word, i, j)
            i = j
        elif ch.isalnum():  # other scripts' letters and digits (Cyrillic, Greek, ①): one word per run
            j = i + 1
            while j < n and folded[j].isalnum() and not _is_cjk(folded[j]) and not folded[j].isascii():
                j += 1
            yield Token(folded[i:j], i, j)
            i = j
        else:
            i += 1


def terms(text: str) -> list[str]:
    """Just the token strings (what an index stores)."""
    return [t.text for t in tokens(text)]


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
        if page_tokens[i].text == phrase[0] and all(page_tokens[i + k].text == phrase[k] for k in range(1, n)):
            yield page_tokens[i].start, page_tokens[i + n - 1].end
