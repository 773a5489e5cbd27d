"""Reading and writing tables (CSV/Excel) for the survey and operations importers.

CSV files are read with the pyarrow CSV reader (multi-threaded, no per-row Python): every column comes back
as a pandas ``category`` so that even a million rows with a few distinct answers take little memory and
validation can work on the small set of distinct values. The delimiter (``,``, ``;``, tab) is sniffed from
the header line; UTF-8 (with or without BOM) is tried first, then Windows-1252 (Excel's Swedish default).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from handslag.errors import Problem, ValidationFailed
from handslag.reports.export import frame_to_bytes  # noqa: F401  (re-exported)

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
_DICT = pa.dictionary(pa.int32(), pa.string())


@dataclass
class Table:
    """A read file: all columns as ``category`` (missing = NaN), plus where it came from."""

    frame: pd.DataFrame
    file: str
    sheet: str | None = None


def _head(path: Path, size: int = 65536) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def _encoding(path: Path) -> str:
    head = _head(path)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a real error, not a multi-byte character cut at the end
            return "cp1252"
    return "utf8"


def sniff_delimiter(path: str | Path) -> str:
    """The most frequent of ``,``, ``;``, tab and ``|`` on the header line (outside quotes)."""
    raw = _head(Path(path), 16384)
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text else ""
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in ",;\t|"}
        return max(counts, key=counts.get) if any(counts.values()) else ","


def _header(path: Path, delimiter: str, encoding: str) -> list[str]:
    raw = _head(path, 1 << 20)
    text = raw.decode("utf-8" if encoding == "utf8" else encoding, errors="replace").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return [c.strip() for c in next(reader)]
    except StopIteration:
        return []


def read_csv_categorical(path: str | Path, *, delimiter: str | None = None, columns: list[str] | None = None,
                         display_name: str | None = None) -> Table:
    """Read a CSV file with pyarrow; every (selected) column as ``category``; blanks are missing."""
    path = Path(path)
    delimiter = delimiter or sniff_delimiter(path)
    encoding = _encoding(path)
    header = _header(path, delimiter, encoding)
    if not header or all(not h for h in header):
        raise ValueError("the file is empty or has no header row")
    names = _dedupe(header)
    include = [c for c in names if columns is None or c in columns]
    read = pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=encoding, block_size=1 << 24)
    invalid: list[int] = []

    def _invalid(row) -> str:
        invalid.append(1)
        return "skip"

    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=_invalid)
    convert = pacsv.ConvertOptions(column_types={c: _DICT for c in include}, include_columns=include,
                                   strings_can_be_null=True, quoted_strings_can_be_null=True,
                                   null_values=["", "NA", "N/A", "#N/A", "NULL", "null", "NaN"])
    try:
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as exc:
        if encoding == "utf8" and "UTF8" in str(exc).upper():
            read = pacsv.ReadOptions(column_names=names, skip_rows=1, encoding="cp1252", block_size=1 << 24)
            table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        else:
            raise ValueError(f"the file could not be read as CSV: {exc}") from exc
    if invalid:
        _raise_ragged(path, delimiter, encoding, len(names), display_name or path.name)
    frame = table.to_pandas()
    return Table(frame=_strip_categories(frame), file=display_name or path.name)


def _raise_ragged(path: Path, delimiter: str, encoding: str, width: int, name: str) -> None:
    """Report rows with the wrong number of fields (slow path, only when the fast reader found some)."""
    problems: list[Problem] = []
    codec = "utf-8-sig" if encoding == "utf8" else encoding
    with open(path, encoding=codec, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        for number, row in enumerate(reader, start=2):
            if row and len(row) != width:
                if len(problems) < 200:
                    problems.append(Problem(name, number, None, f"expected {width} fields, found {len(row)}"))
                else:
                    problems.append(Problem(name, None, None, "… and more rows with the wrong number of fields"))
                    break
    if not problems:
        problems.append(Problem(name, None, None, "some rows have the wrong number of fields"))
    raise ValidationFailed(problems, what="file")


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(names):
        name = name or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def _strip_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip whitespace inside category labels and treat blank labels as missing.

    Cheap: only the distinct values are touched; the row codes are remapped with numpy.
    """
    out = {}
    for col in frame.columns:
        s = frame[col]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype("category")
        cats = pd.Index(s.cat.categories.astype(str))
        stripped = cats.str.strip()
        if len(cats) and (not stripped.equals(cats) or (stripped == "").any()):
            lut_codes, uniques = pd.factorize(pd.Series(stripped).replace("", np.nan))
            codes = s.cat.codes.to_numpy()
            new_codes = np.where(codes >= 0, lut_codes[np.maximum(codes, 0)], -1)
            s = pd.Series(pd.Categorical.from_codes(new_codes, categories=uniques), index=s.index)
        elif len(cats) and not isinstance(s.cat.categories.dtype, pd.StringDtype):
            s = s.cat.rename_categories(cats)
        out[col] = s
    return pd.DataFrame(out, index=frame.index)


def read_excel_categorical(path: str | Path, *, sheet: str | int | None = 0,
                           display_name: str | None = None) -> Table:
    """Read one sheet of an Excel file as text; every column as ``category``."""
    path = Path(path)
    try:
        with pd.ExcelFile(path) as book:
            if isinstance(sheet, int):
                if sheet >= len(book.sheet_names):
                    raise ValueError(f"{path.name} has no sheet number {sheet + 1}")
                sheet_name = book.sheet_names[sheet]
            else:
                sheet_name = sheet or book.sheet_names[0]
                if sheet_name not in book.sheet_names:
                    raise ValueError(f"{path.name} has no sheet {sheet_name!r}")
            frame = pd.read_excel(book, sheet_name=sheet_name, dtype=str, keep_default_na=True)
    except ValueError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, openpyxl errors …: not a readable workbook
        raise ValueError(f"{path.name} could not be read as an Excel workbook ({type(exc).__name__})") from exc
    frame.columns = _dedupe([str(c).strip() for c in frame.columns])
    frame = frame.astype(object).where(frame.notna(), None)
    return Table(frame=_strip_categories(frame), file=display_name or path.name, sheet=str(sheet_name))


def read_table(path: str | Path, *, sheet: str | int | None = None, delimiter: str | None = None,
               display_name: str | None = None) -> Table:
    """Read CSV/TSV/TXT or Excel (by suffix) with every column as ``category``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return read_excel_categorical(path, sheet=0 if sheet is None else sheet, display_name=display_name)
    return read_csv_categorical(path, delimiter=delimiter, display_name=display_name)


def pick_column(frame: pd.DataFrame, aliases: tuple[str, ...]) -> str | None:
    """The first column whose name (case-insensitive, spaces as ``_``) is one of ``aliases``."""
    lookup = {str(c).strip().lower().replace(" ", "_"): c for c in frame.columns}
    for alias in aliases:
        if alias in lookup:
            return lookup[alias]
    return None


def write_table(frame: pd.DataFrame, path: str | Path, *, sheet_name: str = "resultat") -> Path:
    """Write a result table to ``.csv`` (UTF-8 with BOM so that Excel shows å/ä/ö) or ``.xlsx``."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False, sheet_name=sheet_name[:31])
    elif path.suffix.lower() in (".csv", ".txt", ".tsv"):
        frame.to_csv(path, index=False, sep="\t" if path.suffix.lower() == ".tsv" else ",", encoding="utf-8-sig")
    else:
        raise ValueError(f"cannot write {path.name}: use .csv or .xlsx")
    return path


def frames_to_xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    """Several result tables as one Excel workbook (one sheet each)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, index=False, sheet_name=name[:31])
    return buffer.getvalue()
