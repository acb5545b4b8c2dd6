"""Text folding and offset arithmetic shared by the phrase rules, templates and profile checks.

The user's text is never rewritten: folding is applied to copies (token norms, template
fingerprints), and every offset we return points into the original string.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_WORD = re.compile(r"\w+", re.UNICODE)

# Legal forms are not part of a company's name for matching ("Beispiel GmbH" ~ "Beispiel").
LEGAL_FORMS = frozenset("gmbh ag kg kgaa se ug mbh co inc ltd llc plc corp gbr ohg ev".split())


def fold(text: str) -> str:
    """Case-fold for matching: ``ß``/``SS`` → ``ss``, typographic apostrophes → ``'``."""
    return text.translate(_APOSTROPHES).casefold()


def words(text: str) -> list[str]:
    """Folded word tokens of ``text`` with accents kept (``Grüße`` → ``grüsse``)."""
    return _WORD.findall(fold(unicodedata.normalize("NFC", text)))


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of JavaScript and LanguageTool offsets."""
    return len(text.encode("utf-16-le")) // 2


def utf16_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Turn a code-point span ``text[start:end]`` into UTF-16 ``(offset, length)``."""
    offset = utf16_len(text[:start])
    return offset, utf16_len(text[start:end])
