"""Operational KPIs (superförvaltning): work orders and SLA compliance, duty rosters, property → area.

Pure: pandas/numpy/geopandas in and out; no database or web imports. The store
(``handslag.store.operations_repo``) persists properties, work orders, rosters and KPI definitions/values
and calls these functions.
"""

from .geo import SWEDEN_BOUNDS_WGS84, assign_points_to_areas, inside_sweden, parse_coordinates
from .kpis import (
    DEFAULT_KPIS,
    MEASURES,
    KpiDefinition,
    compute_kpis,
    kpi_from_record,
    normalise_period,
    read_kpi_definitions,
    read_kpi_values,
)
from .properties import ParsedProperties, read_properties
from .rosters import DEFAULT_ROLE, ParsedRoster, read_rosters, roster_coverage
from .work_orders import (
    DEFAULT_SLA_HOURS,
    ParsedWorkOrders,
    normalise_category,
    parse_times,
    read_work_orders,
    work_order_kpis,
)

__all__ = [
    "DEFAULT_KPIS", "DEFAULT_ROLE", "DEFAULT_SLA_HOURS", "MEASURES", "SWEDEN_BOUNDS_WGS84", "KpiDefinition",
    "ParsedProperties", "ParsedRoster", "ParsedWorkOrders", "assign_points_to_areas", "compute_kpis",
    "inside_sweden", "kpi_from_record", "normalise_category", "normalise_period", "parse_coordinates",
    "parse_times", "read_kpi_definitions", "read_kpi_values", "read_properties", "read_rosters", "read_work_orders",
    "roster_coverage", "work_order_kpis",
]
