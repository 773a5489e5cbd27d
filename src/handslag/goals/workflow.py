"""Approval workflow of measurements: draft → submitted → approved / rejected.

=========== ============ ==================== =========================================
action      from         to                   notes
=========== ============ ==================== =========================================
submit      draft        submitted            by anyone allowed to enter measurements
withdraw    submitted    draft                the submitter takes it back to edit
approve     submitted    approved             four-eyes: not by the person who entered it
reject      submitted    rejected             a reason is required
reopen      rejected     draft                to correct and submit again
=========== ============ ==================== =========================================

Only drafts and rejected measurements can be edited (editing a rejected one makes it a draft again);
approved measurements are final (correct them with a new measurement). Only approved measurements count
towards progress. Measurements filled from official statistics are created approved by the system.

The four-eyes rule compares user names; it is not applied while the acting user is unknown
(``anonymous``, before log-in exists), so the workflow is usable on a single-user installation.
"""

from __future__ import annotations

from dataclasses import dataclass

from .vocab import MeasurementState

S = MeasurementState

TRANSITIONS: dict[str, tuple[MeasurementState, MeasurementState]] = {
    "submit": (S.draft, S.submitted),
    "withdraw": (S.submitted, S.draft),
    "approve": (S.submitted, S.approved),
    "reject": (S.submitted, S.rejected),
    "reopen": (S.rejected, S.draft),
}

EDITABLE = {S.draft, S.rejected}
ANONYMOUS = {"anonymous", "", None}


class WorkflowError(Exception):
    """A transition that the workflow does not allow (the adapters answer 409)."""


@dataclass(frozen=True)
class Transition:
    action: str
    before: MeasurementState
    after: MeasurementState


def transition(state: str, action: str, *, actor: str | None, entered_by: str | None,
               reason: str | None = None) -> Transition:
    """Check one workflow step and return it; raises :class:`WorkflowError` with the reason."""
    if action not in TRANSITIONS:
        raise WorkflowError(f"unknown action {action!r}; use one of {', '.join(TRANSITIONS)}")
    source, target = TRANSITIONS[action]
    current = MeasurementState(state)
    if current != source:
        raise WorkflowError(f"cannot {action} a measurement that is {current.value} (must be {source.value})")
    if action == "approve" and actor not in ANONYMOUS and actor == entered_by:
        raise WorkflowError("four-eyes rule: a measurement cannot be approved by the person who entered it")
    if action == "reject" and not (reason and reason.strip()):
        raise WorkflowError("a rejection needs a reason")
    return Transition(action, current, target)


def check_editable(state: str) -> None:
    current = MeasurementState(state)
    if current not in EDITABLE:
        raise WorkflowError(f"a {current.value} measurement cannot be changed; only drafts and rejected ones can")
