"""Tenant and safety surveys: instruments, file imports, 0–100 indices with intervals, suppression.

Pure: pandas/numpy in and out; no database or web imports. The store (``handslag.store.surveys_repo``)
persists instruments, waves and answers and calls these functions; analysts can use them directly::

    from handslag.surveys import read_instrument, read_responses, compute_results
    instrument = read_instrument("trygghet.csv")
    parsed = read_responses("svar.csv", instrument)
    respondents = parsed.respondents.reset_index(names="respondent")
    results = compute_results(respondents, parsed.answers, instrument)
"""

from .indices import (
    ABSOLUTE_MIN_GROUP_SIZE,
    DEFAULT_MIN_GROUP_SIZE,
    METHODS,
    WaveInput,
    aggregated_results,
    apply_suppression,
    check_min_group_size,
    compare_waves,
    compute_results,
    poststratification_weights,
)
from .instrument import Instrument, Question, instrument_from_dict, instrument_from_records, read_instrument
from .readers import FORMATS, ParsedAggregates, ParsedResponses, detect_format, read_aggregated, read_responses
from .stats import kish_effective_n, mover_interval, newcombe_interval, wilson_interval
from .tables import frame_to_bytes, read_table, write_table

__all__ = [
    "ABSOLUTE_MIN_GROUP_SIZE", "DEFAULT_MIN_GROUP_SIZE", "FORMATS", "METHODS", "Instrument", "ParsedAggregates",
    "ParsedResponses", "Question", "WaveInput", "aggregated_results", "apply_suppression", "check_min_group_size",
    "compare_waves", "compute_results", "detect_format", "frame_to_bytes", "instrument_from_dict",
    "instrument_from_records", "kish_effective_n", "mover_interval", "newcombe_interval",
    "poststratification_weights", "read_aggregated", "read_instrument", "read_responses", "read_table",
    "wilson_interval", "write_table",
]
