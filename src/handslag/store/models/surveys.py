"""Tables for the surveys domain."""

from __future__ import annotations
