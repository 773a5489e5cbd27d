"""Crosswalks between two area divisions by polygon overlay.

For every pair of areas (F in the *from* division, T in the *to* division) that overlap, the overlap
area is computed in SWEREF 99 TM and expressed as a share of F and of T. Overlaps below ``min_share``
of both areas are slivers from boundary digitisation and are dropped. Each remaining link is classed:

- **same**: F and T cover each other (both shares ≥ ``full``) and neither has another link;
- **split**: F is divided: T lies within F (share of T ≥ ``full``) and F has several links;
- **merge**: F lies within T (share of F ≥ ``full``) and T has several links;
- **partial**: anything else (boundaries re-drawn).

Values are carried across divisions only through these links, never by code alone.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .geometry import SWEREF99TM


def overlay_crosswalk(from_areas: gpd.GeoDataFrame, to_areas: gpd.GeoDataFrame, *,
                      code: str = "code", min_share: float = 0.01, full: float = 0.99) -> pd.DataFrame:
    """Links ``from_code, to_code, overlap_km2, share_of_from, share_of_to, relation``."""
    left = from_areas[[code, "geometry"]].to_crs(SWEREF99TM).rename(columns={code: "from_code"})
    right = to_areas[[code, "geometry"]].to_crs(SWEREF99TM).rename(columns={code: "to_code"})
    left["from_area"] = left.area
    right["to_area"] = right.area
    pairs = gpd.sjoin(left, right, predicate="intersects", how="inner")
    if pairs.empty:
        return pd.DataFrame(columns=["from_code", "to_code", "overlap_km2", "share_of_from", "share_of_to",
                                     "relation"])
    left_geom = left.geometry.loc[pairs.index].values
    right_geom = right.geometry.iloc[
        right.index.get_indexer(pairs["index_right"])].values
    overlap = left_geom.intersection(right_geom).area
    links = pd.DataFrame({
        "from_code": pairs["from_code"].to_numpy(),
        "to_code": pairs["to_code"].to_numpy(),
        "overlap_km2": np.asarray(overlap) / 1e6,
        "share_of_from": np.asarray(overlap) / pairs["from_area"].to_numpy(),
        "share_of_to": np.asarray(overlap) / pairs["to_area"].to_numpy(),
    })
    links = links[(links["share_of_from"] >= min_share) | (links["share_of_to"] >= min_share)].copy()
    n_to = links.groupby("from_code")["to_code"].transform("size")
    n_from = links.groupby("to_code")["from_code"].transform("size")
    relation = np.full(len(links), "partial", dtype=object)
    within_to = links["share_of_from"].to_numpy() >= full
    within_from = links["share_of_to"].to_numpy() >= full
    relation[within_to & within_from & (n_to.to_numpy() == 1) & (n_from.to_numpy() == 1)] = "same"
    relation[(relation == "partial") & within_from & (n_to.to_numpy() > 1)] = "split"
    relation[(relation == "partial") & within_to & (n_from.to_numpy() > 1)] = "merge"
    links["relation"] = relation
    return links.sort_values(["from_code", "to_code"]).reset_index(drop=True)
