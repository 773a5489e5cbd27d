"""Tables for the goals domain."""

from __future__ import annotations
