"""Traditional character forms to simplified, for text an OCR model wrote.

PP-OCRv5 and later were trained on simplified and traditional Chinese alike and now and then write
a character in its traditional form (時 for 时, 齡 for 龄), which search and the fact rules would then
miss. Each character outside GB 2312 (the simplified set forms were printed in) is turned into its
simplified form by OpenCC's `t2s` table, one character at a time (never by phrase: a phrase table
would rewrite characters we keep). Kept as written: every GB 2312 character (於, 乾 and 后 are
surnames as well as traditional forms), 〇 (the zero of 一九五〇年) and the name characters that the
通用规范汉字表 (2013) admits although OpenCC maps them to another character (昇, 陞, 甦 …).
"""

from functools import cache
from typing import Any

# Standard characters for names (通用规范汉字表) that OpenCC's t2s would turn into another character.
NAME_CHARACTERS = frozenset("昇陞甦迺蒐犇仝堃喆劄絜淼")
KEEP = NAME_CHARACTERS | {"〇"}


@cache
def _converter() -> Any:  # opencc ships no types
    import opencc

    return opencc.OpenCC("t2s")


@cache
def _simple(char: str) -> str:
    if char in KEEP or char.isascii():
        return char
    try:
        char.encode("gb2312")
        return char
    except UnicodeEncodeError:
        pass
    converted: str = _converter().convert(char)
    return converted if len(converted) == 1 else char


def simplified(text: str) -> str:
    """`text` with traditional forms written simplified, as the rule above says."""
    return "".join(_simple(c) for c in text)
