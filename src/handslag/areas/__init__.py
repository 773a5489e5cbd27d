"""Area registry core: code rules, levels, divisions, kommun/län names, geometry handling, crosswalks."""

from .codes import (
    DIVISIONS,
    LEVELS,
    code_level,
    is_valid_code,
    kommun_of,
    normalise_code,
    split_suffix,
)
from .regions import kommun_name, kommuner, lan_name, regions

__all__ = [
    "DIVISIONS",
    "LEVELS",
    "code_level",
    "is_valid_code",
    "kommun_name",
    "kommun_of",
    "kommuner",
    "lan_name",
    "normalise_code",
    "regions",
    "split_suffix",
]
