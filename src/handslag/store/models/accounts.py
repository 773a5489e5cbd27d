"""Tables for the accounts domain."""

from __future__ import annotations
