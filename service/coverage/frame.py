"""The coverage rules in geopandas: for notebooks, and as an independent cross-check of the SQL."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from service.coverage.rules import NONE, RANK

RankCounts = dict[int, int]


def best_rank(addresses: gpd.GeoDataFrame, features: gpd.GeoDataFrame) -> pd.Series:
    """Best status rank per address over every feature covering it (boundary counts); 6 = none.

    `features` holds the areas and hamlets with a `status` column, in the addresses' CRS.
    """
    polygons = features[["status", features.geometry.name]]
    joined = gpd.sjoin(
        addresses[[addresses.geometry.name]], polygons, how="left", predicate="intersects"
    )
    ranks = joined["status"].map(RANK).fillna(RANK[NONE])
    best = ranks.groupby(level=0).min().astype(int)
    return best.reindex(addresses.index, fill_value=RANK[NONE])


def district_of(addresses: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> pd.Series:
    """The district covering each address; on a shared border the one with the lowest id wins."""
    ordered = districts[["id", districts.geometry.name]].rename(columns={"id": "district_id"})
    points = addresses[[addresses.geometry.name]]
    joined = gpd.sjoin(points, ordered, how="left", predicate="intersects")
    return joined["district_id"].groupby(level=0).min().reindex(addresses.index)


def counts_by(keys: pd.Series, ranks: pd.Series) -> dict[object, RankCounts]:
    """Addresses per key and best rank (a NaN key means: outside every unit, reported as None)."""
    frame = pd.DataFrame({"key": keys.astype(object).where(keys.notna(), None), "rank": ranks})
    counts: dict[object, RankCounts] = {}
    for (key, rank), size in frame.groupby(["key", "rank"], dropna=False).size().items():
        counts.setdefault(None if pd.isna(key) else key, {})[int(rank)] = int(size)
    return counts


def counts_by_district(
    addresses: gpd.GeoDataFrame, features: gpd.GeoDataFrame, districts: gpd.GeoDataFrame
) -> dict[object, RankCounts]:
    """Addresses per district id and best status rank, like `db.coverage` computes them."""
    return counts_by(district_of(addresses, districts), best_rank(addresses, features))


def counts_by_feature(
    addresses: gpd.GeoDataFrame, features: gpd.GeoDataFrame, units: gpd.GeoDataFrame, key: str
) -> dict[object, RankCounts]:
    """Addresses inside each unit polygon (hamlet, or areas grouped by `key`), once per unit."""
    ranks = best_rank(addresses, features)
    polygons = units[[key, units.geometry.name]].rename(columns={key: "unit_key"})
    joined = gpd.sjoin(addresses[[addresses.geometry.name]], polygons, predicate="intersects")
    pairs = pd.DataFrame({"key": joined["unit_key"].to_numpy(), "address": joined.index.to_numpy()})
    pairs = pairs.drop_duplicates()
    pairs["rank"] = ranks.loc[pairs["address"]].to_numpy()
    return counts_by(pairs["key"], pairs["rank"])


def totals(counts: Mapping[object, RankCounts]) -> RankCounts:
    """Sum the counts of every unit (the municipality figure)."""
    result: RankCounts = {}
    for unit in counts.values():
        for rank, count in unit.items():
            result[rank] = result.get(rank, 0) + count
    return result
