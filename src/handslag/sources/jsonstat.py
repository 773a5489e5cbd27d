"""Decode statistical API answers into tidy pandas frames.

Two formats:

* **JSON-stat 2.0** datasets (SCB PxWeb v2 and v1 with ``"format": "json-stat2"``): ``id`` lists the
  dimensions in order, ``size`` their lengths, ``dimension[d].category.index`` the position of each
  code, and ``value`` is a flat array in **row-major** order: the last dimension varies fastest,
  ``pos = sum_d idx_d * prod_{e>d} size_e``. ``value`` may also be a sparse object ``{"pos": v}``;
  ``status`` may be one string for every cell, an array, or an object ``{"pos": "..."}``.
* **PxWeb v1 ``json``** answers: ``columns`` (``type`` ``d``/``t`` for dimensions, ``c`` for
  contents) and ``data`` rows ``{"key": [...], "values": [...]}`` with numbers as strings.

Missing values (``null``, ``".."`` and other non-numeric symbols) become NaN; the symbol (or the
dataset's status) is kept in the ``status`` column, so suppressed cells stay distinguishable from
true zeros.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

VALUE = "value"
STATUS = "status"


def category_codes(dimension: Mapping[str, Any]) -> list[str]:
    """Codes of one JSON-stat dimension in index order.

    ``category.index`` may be an array of codes, an object ``{code: position}``, or absent when the
    dimension has a single category (then the one key of ``category.label`` is the code).
    """
    category = dimension.get("category") or {}
    index = category.get("index")
    if index is None:
        labels = category.get("label") or {}
        if len(labels) > 1:
            raise ValueError("JSON-stat dimension without category.index has more than one label")
        return [str(code) for code in labels]
    if isinstance(index, Mapping):
        codes: list[str | None] = [None] * len(index)
        for code, pos in index.items():
            pos = int(pos)
            if not 0 <= pos < len(index) or codes[pos] is not None:
                raise ValueError(f"JSON-stat category.index has a bad position {pos} for {code!r}")
            codes[pos] = str(code)
        return [c for c in codes if c is not None]
    return [str(code) for code in index]


def category_labels(dimension: Mapping[str, Any]) -> list[str]:
    """Labels of one dimension in index order (the code where a label is missing)."""
    labels = (dimension.get("category") or {}).get("label") or {}
    return [str(labels.get(code, code)) for code in category_codes(dimension)]


def _number(raw: Any) -> tuple[float, str | None]:
    """A cell as (float, symbol): numbers pass, ``None``/``".."``/other text become NaN + symbol."""
    if raw is None:
        return math.nan, None
    if isinstance(raw, bool):
        return float(raw), None
    if isinstance(raw, int | float):
        return float(raw), None
    text = str(raw).strip()
    try:
        return float(text.replace(",", ".").replace("\u2212", "-").replace(" ", "")), None
    except ValueError:
        return math.nan, text or None


def _cells(raw: Any, n: int, what: str) -> list[Any]:
    """Expand a JSON-stat ``value``/``status`` member to a dense list of length ``n``."""
    if raw is None:
        return [None] * n
    if isinstance(raw, str):
        return [raw] * n
    if isinstance(raw, Mapping):
        out: list[Any] = [None] * n
        for pos, item in raw.items():
            p = int(pos)
            if not 0 <= p < n:
                raise ValueError(f"JSON-stat {what} position {p} outside 0..{n - 1}")
            out[p] = item
        return out
    if isinstance(raw, Sequence):
        items = list(raw)
        if what == STATUS and len(items) == 1 and n != 1:
            return items * n
        if len(items) != n:
            raise ValueError(f"JSON-stat {what} has {len(items)} cells, size says {n}")
        return items
    raise ValueError(f"JSON-stat {what} has an unexpected type {type(raw).__name__}")


def decode_jsonstat2(doc: Mapping[str, Any], *, labels: bool = False, label_suffix: str = "_label") -> pd.DataFrame:
    """Decode a JSON-stat 2.0 dataset into one row per cell.

    Columns: one per dimension (codes, in ``id`` order), then ``<dim>_label`` per dimension when
    ``labels=True``, then ``value`` (float, NaN when missing) and ``status`` (string, NA when the
    cell has no status).

    Raises:
        ValueError: the document is not a JSON-stat 2.0 dataset or its sizes do not add up.
    """
    if "dataset" in doc and "id" not in doc:  # JSON-stat 1.x bundle: {"dataset": {...}}
        raise ValueError("JSON-stat 1.x bundles are not supported; ask for json-stat2")
    if doc.get("class", "dataset") != "dataset":
        raise ValueError(f"expected a JSON-stat dataset, got class {doc.get('class')!r}")
    ids = [str(d) for d in doc.get("id") or []]
    sizes = [int(s) for s in doc.get("size") or []]
    dims = doc.get("dimension") or {}
    if len(ids) != len(sizes):
        raise ValueError("JSON-stat id and size have different lengths")
    codes: list[list[str]] = []
    for dim, size in zip(ids, sizes, strict=True):
        if dim not in dims:
            raise ValueError(f"JSON-stat dimension {dim!r} is listed in id but not described")
        dim_codes = category_codes(dims[dim])
        if len(dim_codes) != size:
            raise ValueError(f"JSON-stat dimension {dim!r} has {len(dim_codes)} categories, size says {size}")
        codes.append(dim_codes)

    n = int(np.prod(sizes, dtype=np.int64)) if sizes else 0
    raw_values = _cells(doc.get("value"), n, VALUE)
    raw_status = _cells(doc.get("status"), n, STATUS)

    values = np.empty(n, dtype=np.float64)
    status: list[str | None] = [None] * n
    for i, raw in enumerate(raw_values):
        number, symbol = _number(raw)
        values[i] = number
        given = raw_status[i]
        status[i] = str(given) if given is not None else symbol

    columns: dict[str, Any] = {}
    # Row-major: dimension d repeats each code prod(size[d+1:]) times, the block prod(size[:d]) times.
    for d, dim in enumerate(ids):
        inner = int(np.prod(sizes[d + 1 :], dtype=np.int64))
        outer = int(np.prod(sizes[:d], dtype=np.int64))
        arr = np.array(codes[d], dtype=object)
        columns[dim] = np.tile(np.repeat(arr, inner), outer) if n else np.array([], dtype=object)
    if labels:
        for d, dim in enumerate(ids):
            inner = int(np.prod(sizes[d + 1 :], dtype=np.int64))
            outer = int(np.prod(sizes[:d], dtype=np.int64))
            arr = np.array(category_labels(dims[dim]), dtype=object)
            columns[f"{dim}{label_suffix}"] = np.tile(np.repeat(arr, inner), outer) if n else np.array([], dtype=object)
    frame = pd.DataFrame({k: pd.Series(v, dtype="string") for k, v in columns.items()})
    frame[VALUE] = values
    frame[STATUS] = pd.Series(status, dtype="string")
    return frame


def decode_pxweb_json(doc: Mapping[str, Any], *, contents_column: str = "ContentsCode") -> pd.DataFrame:
    """Decode a PxWeb v1 ``json`` answer into one row per cell.

    Dimension columns (``type`` ``d`` or ``t``) become columns of codes; each contents column
    (``type`` ``c``) becomes a row with its code in ``contents_column``. ``".."`` and other
    non-numeric symbols give NaN with the symbol in ``status``.
    """
    columns = doc.get("columns") or []
    dim_cols = [c for c in columns if c.get("type") in ("d", "t")]
    content_cols = [c for c in columns if c.get("type") == "c"]
    if not content_cols:
        raise ValueError("PxWeb json answer has no contents column (type 'c')")
    rows: dict[str, list[Any]] = {str(c["code"]): [] for c in dim_cols}
    contents: list[str] = []
    values: list[float] = []
    status: list[str | None] = []
    for i, row in enumerate(doc.get("data") or []):
        key = row.get("key") or []
        vals = row.get("values") or []
        if len(key) != len(dim_cols) or len(vals) != len(content_cols):
            raise ValueError(f"PxWeb json data row {i} does not match the columns")
        for col, code in zip(dim_cols, key, strict=True):
            rows[str(col["code"])].extend([str(code)] * len(content_cols))
        for col, raw in zip(content_cols, vals, strict=True):
            number, symbol = _number(raw)
            contents.append(str(col["code"]))
            values.append(number)
            status.append(symbol)
    frame = pd.DataFrame({k: pd.Series(v, dtype="string") for k, v in rows.items()})
    frame[contents_column] = pd.Series(contents, dtype="string")
    frame[VALUE] = np.array(values, dtype=np.float64)
    frame[STATUS] = pd.Series(status, dtype="string")
    return frame


def decode(doc: Mapping[str, Any], *, labels: bool = False) -> pd.DataFrame:
    """Decode either format, recognised by its keys (``id``/``size`` or ``columns``/``data``)."""
    if "columns" in doc and "data" in doc:
        return decode_pxweb_json(doc)
    return decode_jsonstat2(doc, labels=labels)
