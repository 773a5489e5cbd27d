"""Segregation and inequality indices for many municipalities and years at once (pure numpy/pandas).

Public API:

* :func:`compute_indices` – point estimates, one row per ``by`` value.
* :func:`with_inference` – the same with bootstrap CIs and permutation p-values.
* :func:`result_to_json` / :func:`results_to_records` – the CLI/API JSON shape.
* :data:`INDEX_NAMES`, :data:`INDEX_METADATA` – index names and labels
  (``inequality_index_approx`` is an *approximation* of Boverket's ojämlikhetsindex).
"""

from .indices import GROUP_INDICES, INDEX_METADATA, INDEX_NAMES, compute_indices, gini_of_means
from .inference import NULLS, with_inference
from .output import result_to_json, results_to_records

__all__ = [
    "GROUP_INDICES",
    "INDEX_METADATA",
    "INDEX_NAMES",
    "NULLS",
    "compute_indices",
    "gini_of_means",
    "result_to_json",
    "results_to_records",
    "with_inference",
]
