"""``handslag types`` (area types, type history, transitions) and ``handslag segregation`` (indices).

Both read the store through :mod:`handslag.analysis`; ``segregation --input FILE`` works on an
analyst's own table instead. Every problem the user can fix ends the command with exit code 1 and a
single line ``error: …`` on stderr.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import typer

from handslag import analysis as an
from handslag.errors import HandslagError
from handslag.reports.export import export_frame
from handslag.segregation import INDEX_NAMES

from ._common import OutputFormat, console, open_database, print_frame

DB_OPTION = typer.Option(None, "--database-url", envvar="HANDSLAG_DATABASE_URL", help="SQLAlchemy URL")
FORMAT_OPTION = typer.Option(OutputFormat.table, "--format", "-f", help="table, csv eller json")
OUTPUT_OPTION = typer.Option(None, "--output", "-o", help="Skriv resultattabellen till .xlsx, .csv eller .parquet")


def register(app: typer.Typer) -> None:
    app.command("types")(types_cmd)
    app.command("segregation")(segregation_cmd)


@contextmanager
def _clean_errors() -> Iterator[None]:
    """Turn user-fixable errors into one line on stderr and exit code 1."""
    try:
        yield
    except (HandslagError, ValueError, KeyError, OSError) as exc:
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        typer.echo("error: " + " ".join(message.split()), err=True)
        raise typer.Exit(1) from None


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _emit(frame: pd.DataFrame, fmt: OutputFormat, output: Path | None, *, payload=None,
          table: pd.DataFrame | None = None, title: str | None = None) -> None:
    if output is not None:
        path = export_frame(frame, output)
        console.print(f"wrote {len(frame)} rows to {path}")
        return
    if fmt == OutputFormat.table:
        if title:
            print(title)
        print_frame(table if table is not None else frame, fmt)
    else:
        print_frame(frame, fmt, json_records=payload)


# --- types ------------------------------------------------------------------------------------------------


def types_cmd(
    kommun: str | None = typer.Option(None, "--kommun", "-k", help="Kommunkod, t.ex. 1480"),
    year: int | None = typer.Option(None, "--year", "-y", help="År"),
    source: str = typer.Option("official", "--source", help="official (SCB:s typer) eller computed (SEI ur "
                               "komponenterna i databasen)"),
    level: str = typer.Option("regso", "--level", help="regso eller deso"),
    from_year: int | None = typer.Option(None, "--from-year", "--from", help="Övergångsmatris: från år"),
    to_year: int | None = typer.Option(None, "--to-year", "--to", help="Övergångsmatris: till år"),
    area: str | None = typer.Option(None, "--area", help="Typhistorik för ett område (kod), t.ex. 1480R012"),
    fmt: OutputFormat = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
    database_url: str | None = DB_OPTION,
) -> None:
    """Områdestyper (1–5) for a kommun and year, a transition matrix, or one area's type history.

    \b
    handslag types --kommun 1480 --year 2022 [--source official|computed]
    handslag types --kommun 1480 --from 2022 --to 2023     (transition matrix)
    handslag types --area 1480R012                          (type history)
    """
    with _clean_errors():
        db = open_database(database_url)
        with db.session() as session:
            if area:
                history = an.type_history(session, area)
                _emit(history, fmt, output, payload=an.type_history_records(history),
                      title=f"Områdestyp per år för {area}")
                return
            if kommun is None:
                raise an.AnalysisError("give --kommun (or --area CODE for a type history)")
            if from_year is not None or to_year is not None:
                if from_year is None or to_year is None:
                    raise an.AnalysisError("a transition matrix needs both --from-year and --to-year")
                matrix = an.transitions_for(session, kommun, from_year, to_year, source, level)
                wide = matrix.pivot(index="type_from", columns="type_to", values="count")
                wide.columns = [f"till {c}" for c in wide.columns]
                wide = wide.reset_index().rename(columns={"type_from": "från typ"})
                a = matrix.attrs
                _emit(matrix, fmt, output, payload=an.transitions_payload(matrix), table=wide,
                      title=f"Övergångar {a['kommun']} {a['from']}→{a['to']} ({source}): {a['n_areas']} områden, "
                            f"{a['n_changed']} bytte typ")
                return
            if year is None:
                raise an.AnalysisError("give --year (or --from-year and --to-year for transitions)")
            types = an.area_types_for(session, kommun, year, source, level)
            payload = an.area_types_payload(types)
            counts = "  ".join(f"typ {k}: {v}" for k, v in payload["counts"].items())
            _emit(types, fmt, output, payload=payload,
                  title=f"Områdestyper {payload['kommun']} {year} ({source}, {payload['division']})\n{counts}\n")


# --- segregation ------------------------------------------------------------------------------------------


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise an.AnalysisError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xls"):
            frame = pd.read_excel(path, dtype=str)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    except Exception as exc:  # any reader failure is a user-facing problem with the file
        raise an.AnalysisError(f"{path}: cannot read the file ({' '.join(str(exc).split())})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _numeric_if_possible(col: pd.Series) -> pd.Series:
    """Numbers stay numbers (``2023``), codes with leading zeros stay text (``0114``)."""
    if col.dtype != object:
        return col
    text = col.dropna().astype(str).str.strip()
    if text.empty or text.str.match(r"^0\d").any():
        return col
    parsed = pd.to_numeric(text, errors="coerce")
    if parsed.isna().any():
        return col
    out = pd.to_numeric(col, errors="coerce")
    return out.astype("Int64") if (out.dropna() % 1 == 0).all() else out


def _segregation_table(result: pd.DataFrame) -> pd.DataFrame:
    """Long, readable form: one row per case and index with value, CI and p."""
    indices = [n for n in INDEX_NAMES if n in result.columns]
    keys = [c for c in result.columns if c not in {*indices, "n_units", "population", "notes"}
            and not c.endswith(("_ci_low", "_ci_high", "_p_value"))]
    rows = []
    for r in result.to_dict(orient="records"):
        for name in indices:
            rows.append({**{k: r[k] for k in keys}, "n_units": r["n_units"], "population": r["population"],
                         "index": name, "value": r[name], "ci_low": r.get(f"{name}_ci_low"),
                         "ci_high": r.get(f"{name}_ci_high"), "p_value": r.get(f"{name}_p_value")})
    table = pd.DataFrame(rows)
    return table.round({"value": 4, "ci_low": 4, "ci_high": 4, "p_value": 4})


def segregation_cmd(
    kommun: str | None = typer.Option(None, "--kommun", "-k", help="Kommunkod; utan --kommun och --input: "
                                      "alla kommuner"),
    year: int | None = typer.Option(None, "--year", "-y", help="År (data i databasen)"),
    groups: str = typer.Option("foreign_born,born_in_sweden", "--groups", "-g",
                               help="Kommaseparerade gruppindikatorer/kolumner; den första är fokalgruppen"),
    level: str = typer.Option("regso", "--level", help="regso eller deso"),
    input_file: Path | None = typer.Option(None, "--input", "-i", help="Egen fil (.csv, .xlsx, .parquet): en rad "
                                           "per område"),
    unit: str | None = typer.Option(None, "--unit", help="Kolumn med områdeskod (med --input)"),
    by: str | None = typer.Option(None, "--by", help="Kolumn(er) att dela upp på, t.ex. kommun,ar (med --input)"),
    n_boot: int = typer.Option(199, "--n-boot", min=0, help="Bootstrap-replikat för KI (0 = inga)"),
    n_perm: int = typer.Option(199, "--n-perm", min=0, help="Permutationer för p-värden (0 = inga)"),
    seed: int = typer.Option(0, "--seed", help="Slumpfrö"),
    fmt: OutputFormat = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
    database_url: str | None = DB_OPTION,
) -> None:
    """Segregation indices (D, S, isolation, exposure, Theil's H, M) with bootstrap CIs and permutation p-values.

    \b
    handslag segregation --kommun 1480 --year 2023 --groups foreign_born,born_in_sweden
    handslag segregation --input fil.csv --unit deso --groups utr,inr --by kommun
    """
    with _clean_errors():
        group_list = _split(groups)
        if input_file is not None:
            if not unit:
                raise an.AnalysisError("--input needs --unit COLUMN (the area code column)")
            frame = _read_table(input_file)
            by_cols = _split(by)
            for col in by_cols:
                if col in frame.columns:
                    frame[col] = _numeric_if_possible(frame[col])
            result = an.segregation_from_frame(frame, unit, group_list, by_cols, n_boot=n_boot, n_perm=n_perm,
                                               seed=seed, source=str(input_file))
        else:
            if year is None:
                raise an.AnalysisError("give --year (or --input FILE for your own table)")
            if by or unit:
                raise an.AnalysisError("--unit and --by are for --input files")
            db = open_database(database_url)
            with db.session() as session:
                result = an.segregation_for(session, kommun, year, group_list, level, n_boot=n_boot,
                                            n_perm=n_perm, seed=seed)
        records = an.segregation_records(result)
        _emit(result, fmt, output, payload=records, table=_segregation_table(result),
              title=f"Segregationsindex, grupper {', '.join(group_list)} (fokal: {group_list[0]}); "
                    f"n_boot={n_boot}, n_perm={n_perm}, seed={seed}")

