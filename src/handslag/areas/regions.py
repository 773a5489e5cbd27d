"""The 290 municipalities and 21 counties with their names (SCB codes), shipped with the package."""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib.resources import files

import pandas as pd


@cache
def regions() -> pd.DataFrame:
    """Columns: code, name, level (riket/lan/kommun), parent_code."""
    with files("handslag.areas").joinpath("regions.csv").open(encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    frame.loc[frame["parent_code"] == "", "parent_code"] = None
    return frame


def registry_rows() -> pd.DataFrame:
    """Riket, the counties and the municipalities as area rows (code, division, level, name, parents)."""
    reg = regions()
    return pd.DataFrame({
        "code": reg["code"], "division": reg["level"], "level": reg["level"], "name": reg["name"],
        "parent_code": reg["parent_code"],
        "parent_division": reg["parent_code"].map(
            lambda c: None if not isinstance(c, str) else ("riket" if c == "00" else "lan")),
        "kommun_code": reg["code"].where(reg["level"] == "kommun"),
        "lan_code": reg["code"].str[:2].where(reg["level"] != "riket")})


def kommuner() -> pd.DataFrame:
    return regions()[regions()["level"] == "kommun"].reset_index(drop=True)


def lan() -> pd.DataFrame:
    return regions()[regions()["level"] == "lan"].reset_index(drop=True)


@cache
def _names() -> dict[str, str]:
    return dict(zip(regions()["code"], regions()["name"], strict=True))


def kommun_name(code: str) -> str | None:
    return _names().get(code) if len(code) == 4 else None


def lan_name(code: str) -> str | None:
    return _names().get(code) if len(code) == 2 else None


def _fold(text: str) -> str:
    """Lower case, accents off, letters only: 'Upplands-Bro' and 'Upplands Bro' → 'upplandsbro'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isalpha() and not unicodedata.combining(ch))


# Spellings seen in public lists that are not the municipality's name (districts, typos).
NAME_ALIASES = {"ladskrona": "Landskrona", "vastrafrolunda": "Göteborg", "jarfalla": "Järfälla"}


@cache
def _codes_by_folded_name() -> dict[str, str]:
    out = {_fold(name): code for code, name in zip(kommuner()["code"], kommuner()["name"], strict=True)}
    for alias, real in NAME_ALIASES.items():
        out.setdefault(alias, out[_fold(real)])
    return out


def kommun_code_by_name(name: str | None) -> str | None:
    """The municipality code for a name, tolerant of case, accents, hyphens and known misspellings."""
    if not name or not isinstance(name, str):
        return None
    return _codes_by_folded_name().get(_fold(name))
