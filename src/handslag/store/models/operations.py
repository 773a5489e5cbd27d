"""Tables for the operations domain."""

from __future__ import annotations
