"""Write a result table to a file whose format follows the suffix: ``.csv``, ``.xlsx`` or ``.parquet``."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

EXPORT_FORMATS: tuple[str, ...] = (".csv", ".xlsx", ".parquet")


def export_frame(frame: pd.DataFrame, path: str | Path, *, sheet_name: str = "result") -> Path:
    """Write ``frame`` (without its index) to ``path``; the suffix chooses the format.

    * ``.csv``: UTF-8, comma-separated, header row.
    * ``.xlsx``: one sheet (``sheet_name``); missing values are empty cells.
    * ``.parquet``: pyarrow; dtypes are kept.

    ``frame.attrs`` are not written. The parent folder must exist.

    Raises
    ------
    ValueError
        For any other suffix, or a missing parent folder.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ValueError(f"cannot export to {path.name}: the suffix must be one of {', '.join(EXPORT_FORMATS)}")
    if not path.parent.exists():
        raise ValueError(f"cannot export to {path}: folder {path.parent} does not exist")
    out = frame.copy()
    out.attrs = {}
    out.columns = [str(c) for c in out.columns]
    if suffix == ".csv":
        out.to_csv(path, index=False)
    elif suffix == ".xlsx":
        for col in out.columns:
            if isinstance(out[col].dtype, pd.StringDtype) or pd.api.types.is_extension_array_dtype(out[col]):
                out[col] = out[col].astype(object).where(out[col].notna(), None)
        out.to_excel(path, index=False, sheet_name=sheet_name[:31])
    else:
        out.to_parquet(path, index=False)
    return path


def frame_to_bytes(frame: pd.DataFrame, fmt: str, *, sheet_name: str = "resultat") -> tuple[bytes, str]:
    """Serialise a result table to CSV or Excel bytes; returns (content, media type)."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8-sig"), "text/csv; charset=utf-8"
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False, sheet_name=sheet_name[:31])
        return buffer.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    raise ValueError(f"unknown export format {fmt!r}; use csv or xlsx")
