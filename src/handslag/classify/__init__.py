"""Socioeconomic index, områdestyper (area types), their comparison and distance to thresholds.

Pure pandas/numpy. Definitions: ``docs/methods.md`` (methods brief §1.2–1.4).
"""

from .compare import LABELS, agreement, confusion_matrix, transition_matrix
from .index import (
    COMPONENT_IDS,
    SUBSTITUTION_LABEL,
    V1_ID,
    V2_ID,
    V3_ID,
    V3_SUBSTITUTE_ID,
    deso_components,
    socioeconomic_index,
)
from .thresholds import distance_to_thresholds
from .types import DEFAULT_CUTS, TYPE_LABELS, area_type_cuts, area_types, cut_columns

__all__ = [
    "COMPONENT_IDS",
    "DEFAULT_CUTS",
    "LABELS",
    "SUBSTITUTION_LABEL",
    "TYPE_LABELS",
    "V1_ID",
    "V2_ID",
    "V3_ID",
    "V3_SUBSTITUTE_ID",
    "agreement",
    "area_type_cuts",
    "area_types",
    "confusion_matrix",
    "cut_columns",
    "deso_components",
    "distance_to_thresholds",
    "socioeconomic_index",
    "transition_matrix",
]
