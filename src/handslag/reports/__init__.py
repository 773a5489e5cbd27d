"""Reports and exports of result tables."""

from .export import EXPORT_FORMATS, export_frame

__all__ = ["EXPORT_FORMATS", "export_frame"]
