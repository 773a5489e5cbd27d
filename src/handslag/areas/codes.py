"""Area codes and divisions.

Codes (design.md): DeSO ``^\\d{4}[ABC]\\d{4}$``, RegSO ``^\\d{4}R\\d{3}$``, kommun ``^\\d{4}$``,
län ``^\\d{2}$`` (``00`` is the whole country). The division (vintage) is stored with every area and
value; the same code string in two divisions is two different areas.
"""

from __future__ import annotations

import re

LEVELS = ("deso", "regso", "kommun", "lan", "riket", "custom")

# division -> level
DIVISIONS: dict[str, str] = {
    "DeSO2018": "deso",
    "DeSO2025": "deso",
    "RegSO2020": "regso",
    "RegSO2025": "regso",
    "kommun": "kommun",
    "lan": "lan",
    "riket": "riket",
}

PATTERNS: dict[str, re.Pattern[str]] = {
    "deso": re.compile(r"^\d{4}[ABC]\d{4}$"),
    "regso": re.compile(r"^\d{4}R\d{3}$"),
    "kommun": re.compile(r"^\d{4}$"),
    "lan": re.compile(r"^\d{2}$"),
}

_SUFFIX = re.compile(r"^(?P<code>.+)_(?P<division>DeSO20\d\d|RegSO20\d\d)$")


def split_suffix(code: str) -> tuple[str, str | None]:
    """``'1480C3390_DeSO2025'`` → ``('1480C3390', 'DeSO2025')``; codes without suffix → ``(code, None)``."""
    match = _SUFFIX.match(code.strip())
    if match:
        return match["code"], match["division"]
    return code.strip(), None


def normalise_code(code: object) -> str:
    """Strip blanks and restore leading zeros lost by spreadsheets (``180`` → ``0180``, ``1`` → ``01``)."""
    text = str(code).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    if text.isdigit() and len(text) == 3:
        return text.zfill(4)
    if text.isdigit() and len(text) == 1:
        return text.zfill(2)
    if len(text) in (8, 7) and text[:3].isdigit() and text[3:4] in "ABCR":
        # a DeSO/RegSO code whose kommun part lost its leading zero, e.g. 180C1010 → 0180C1010
        return "0" + text
    return text


def code_level(code: str) -> str | None:
    """The level a code's shape says, or None when it fits no pattern."""
    if code == "00":
        return "riket"
    for level, pattern in PATTERNS.items():
        if pattern.match(code):
            return level
    return None


def is_valid_code(code: str, division: str | None = None) -> bool:
    level = code_level(code)
    if level is None:
        return False
    if division is None or division not in DIVISIONS:
        return True
    return DIVISIONS[division] == level


def kommun_of(code: str) -> str | None:
    level = code_level(code)
    if level in ("deso", "regso", "kommun"):
        return code[:4]
    return None


def level_of_division(division: str) -> str:
    return DIVISIONS.get(division, "custom")
