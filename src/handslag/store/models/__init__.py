"""All tables. Each domain has its own module; importing this package registers them all."""

from . import accounts, goals, operations, surveys  # noqa: F401  (register their tables)
from .base import Base, utcnow
from .core import Area, AreaLink, ImportLog, Observation, PoliceArea, PoliceAreaOverlap

__all__ = ["Area", "AreaLink", "Base", "ImportLog", "Observation", "PoliceArea", "PoliceAreaOverlap", "utcnow"]
