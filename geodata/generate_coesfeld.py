"""Generate the bundled default municipality data package for Coesfeld (NRW), `geodata/coesfeld/`.

Why this exists: the service needs a whole municipality to seed, test and demo against, but for
Coesfeld only the municipality boundary (Geobasis NRW DVG2) and the 17 school locations are open
data. No polygons of the Ortsteile, expansion areas or Bauerschaften and no address points could be
found. This script therefore keeps the two real layers as they are and *generates* plausible
approximations for the rest (every such feature has `approximate=true`). Names and roll-out
statuses follow the town's November 2021 council report on the fibre roll-out; the geometries are
made up. See `geodata/SOURCES.md`.

How to run it, from the repository root with the project's virtualenv:

    python geodata/generate_coesfeld.py

It reads `geodata/sources/`, writes one GeoJSON file per layer in EPSG:25832 (coordinates rounded
to 0.01 m), re-reads every file, checks it and prints a short summary. The random generator has a
fixed seed, so every run writes byte-for-byte the same files.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

SEED = 20211110
HERE = Path(__file__).parent
SOURCES = HERE / "sources"
OUT = HERE / "coesfeld"
BOUNDARY_FILE = SOURCES / "coesfeld_gemeinde_dvg2_2023_epsg25832.geojson"
SCHOOLS_FILE = SOURCES / "coesfeld_schulen_2024_25.geojson"
EPSG = 25832
GRID = 0.01  # metres: every generated coordinate is snapped to this grid before writing
POSTCODE = "48653"
TOTAL_ADDRESSES = 12_000
# Reference points (lat, lon) used as coarse checks of the Ortsteile: the Wikipedia infobox
# points of Coesfeld (minute precision only) and Lette, and the market square in the town centre.
CENTRE_REFERENCE = (51.95, 7.166667)
LETTE_REFERENCE = (51.896944, 7.191667)
MARKET_REFERENCE = (51.946, 7.168)

XY = tuple[float, float]
Record = dict[str, Any]

CONNECTED, UNDER_CONSTRUCTION, IN_PREPARATION = "connected", "under_construction", "in_preparation"
INSUFFICIENT, PLANNED = "insufficient_demand", "planned"
STATUSES = {CONNECTED, UNDER_CONSTRUCTION, IN_PREPARATION, INSUFFICIENT, PLANNED}
SETTLEMENT, COMMERCIAL, OUTSKIRTS = "settlement", "commercial", "outskirts"
PRIVATE, FUNDED, UNKNOWN = "private", "funded", "unknown"
DG, OMNION = "Deutsche Glasfaser", "omnion"
REPORT_DATE = "2021-11-01"  # the town's council report on the fibre roll-out, November 2021
NOTE_DEMAND = (
    "Nachfrage nicht ausreichend; vorhandene Bandbreite gut, Nachverhandlung mit dem Anbieter "
    "läuft (Ratsbericht November 2021)."
)


# ---------------------------------------------------------------------------------------------
# Specifications: names and statuses from the council report; positions and sizes are invented.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """A roughly elliptic settlement body around a centre, in EPSG:25832 metres."""

    centre: XY
    semi_x: float
    semi_y: float

    def at(self, angle_deg: float, factor: float = 1.0) -> XY:
        """The point on the ellipse (scaled by `factor`), degrees counter-clockwise from east."""
        rad = math.radians(angle_deg)
        return (
            self.centre[0] + factor * self.semi_x * math.cos(rad),
            self.centre[1] + factor * self.semi_y * math.sin(rad),
        )


@dataclass(frozen=True)
class Area:
    """The attributes of one expansion area."""

    name: str
    kind: str
    status: str
    funding: str
    provider: str | None
    since: str
    notes: str | None = None


Piece = tuple[Area, BaseGeometry]


@dataclass(frozen=True)
class Sector:
    """A part of a settlement body between two angles (degrees, counter-clockwise from east)."""

    area: Area
    start: float
    end: float


@dataclass(frozen=True)
class Town:
    """A settlement body split into an optional core and angular sectors."""

    body: Body
    roughness: float
    core: Area | None
    core_centre: XY
    core_radius: float
    sectors: tuple[Sector, ...]


@dataclass(frozen=True)
class Patch:
    """A free-standing blob: a commercial area, an outskirts cluster or a hamlet."""

    name: str
    centre: XY
    hectares: float


@dataclass(frozen=True)
class Hamlet:
    """The attributes of one Bauerschaft."""

    patch: Patch
    status: str
    since: str
    demand_share: float | None


KERNSTADT = Body((374200.0, 5756350.0), 1850.0, 1650.0)
LETTE = Body((375400.0, 5751050.0), 800.0, 650.0)
GOXEL = Body((370900.0, 5755050.0), 440.0, 360.0)


def _settled(name: str, since: str) -> Area:
    return Area(name, SETTLEMENT, CONNECTED, PRIVATE, DG, since)


def _short(name: str) -> Area:
    return Area(name, SETTLEMENT, INSUFFICIENT, UNKNOWN, DG, REPORT_DATE, NOTE_DEMAND)


TOWNS = (
    Town(
        KERNSTADT,
        0.3,
        _short("Kernstadt Innenstadt"),
        (374150.0, 5756550.0),
        480.0,
        (
            Sector(_settled("Kernstadt Süd", "2020-06-15"), -100, -60),
            Sector(_settled("Kernstadt Südost", "2020-05-04"), -60, -15),
            Sector(_short("Kernstadt Ost"), -15, 20),
            Sector(_settled("Kernstadt Nordost", "2019-11-04"), 20, 70),
            Sector(_settled("Kernstadt Nord", "2019-09-16"), 70, 120),
            Sector(_settled("Kernstadt Nordwest", "2019-12-02"), 120, 165),
            Sector(_settled("Kernstadt West", "2020-03-02"), 165, 205),
            Sector(_settled("Kernstadt Südwest I", "2020-09-07"), 205, 225),
            Sector(
                Area(
                    "Kernstadt Südwest II",
                    SETTLEMENT,
                    UNDER_CONSTRUCTION,
                    PRIVATE,
                    DG,
                    "2021-08-02",
                    "Ausbau läuft (Ratsbericht November 2021).",
                ),
                225,
                245,
            ),
            Sector(_short("Kernstadt Südwest III"), 245, 260),
        ),
    ),
    Town(
        LETTE,
        0.2,
        _settled("Lette Ortskern", "2020-04-06"),
        (375400.0, 5751050.0),
        380.0,
        (
            Sector(_settled("Lette Nord", "2020-07-06"), 0, 180),
            Sector(_settled("Lette Süd", "2020-10-05"), 180, 360),
        ),
    ),
    Town(GOXEL, 0.2, None, GOXEL.centre, 0.0, (Sector(_settled("Goxel", "2020-08-03"), 0, 360),)),
)

IPNW = Area(
    "Industriepark Nord.Westfalen",
    COMMERCIAL,
    CONNECTED,
    PRIVATE,
    None,
    "2019-07-01",
    "Eigenwirtschaftlich erschlossen; ca. 55 ha auf der ehemaligen Freiherr-vom-Stein-Kaserne "
    "in Flamschen.",
)
COMMERCIAL_PATCHES = (
    (IPNW, Patch(IPNW.name, (375950.0, 5759050.0), 55.0)),
    *(
        (Area(name, COMMERCIAL, CONNECTED, FUNDED, OMNION, "2021-07-01"), Patch(name, centre, ha))
        for name, centre, ha in (
            ("Weißes Kreuz", KERNSTADT.at(150), 20.0),
            ("Berkelbogen", KERNSTADT.at(40), 15.0),
            ("Wasserturm", KERNSTADT.at(0), 12.0),
            ("Dreiskamp", KERNSTADT.at(-35), 18.0),
            ("Otterkamp", LETTE.at(30), 20.0),
            ("Rottkamp", KERNSTADT.at(-78), 10.0),
            ("Königsbusch", KERNSTADT.at(185), 25.0),
            ("Krampe", KERNSTADT.at(100), 8.0),
        )
    ),
)
_CLUSTER_NOTE = "Illustratives Cluster im Außenbereich, im Ratsbericht nicht einzeln benannt."
OUTSKIRTS_PATCHES = tuple(
    (Area(name, OUTSKIRTS, PLANNED, UNKNOWN, None, REPORT_DATE, _CLUSTER_NOTE), Patch(name, c, ha))
    for name, c, ha in (
        ("Außenbereich West", (367500.0, 5750700.0), 200.0),
        ("Außenbereich Süd", (372600.0, 5747750.0), 150.0),
    )
)

HAMLETS = tuple(
    Hamlet(Patch(name, centre, km2 * 100.0), status, since, share)
    for name, status, since, share, centre, km2 in (
        ("Flamschen", CONNECTED, "2020-11-02", None, (373300.0, 5759250.0), 2.2),
        ("Höven", CONNECTED, "2021-03-01", None, (377000.0, 5759900.0), 1.4),
        ("Gaupel", CONNECTED, "2021-02-01", 0.62, (371000.0, 5758600.0), 3.0),
        ("Harle", CONNECTED, "2020-12-01", 0.58, (369400.0, 5756800.0), 3.5),
        ("Stevede", CONNECTED, "2021-04-06", 0.55, (368100.0, 5753500.0), 3.5),
        ("Stockum", CONNECTED, "2021-05-03", 0.66, (370200.0, 5754300.0), 2.2),
        ("Goxeler Feld", CONNECTED, "2021-06-01", 0.71, (371900.0, 5753700.0), 1.5),
        ("Brink Nord", CONNECTED, "2021-01-11", 0.6, (377200.0, 5757600.0), 1.3),
        ("Sirksfeld", CONNECTED, "2021-03-15", 0.52, (377400.0, 5753900.0), 2.5),
        ("Letter Bruch", CONNECTED, "2021-05-17", 0.57, (370300.0, 5748900.0), 5.0),
        ("Brink Süd", IN_PREPARATION, REPORT_DATE, 0.47, (378900.0, 5754700.0), 2.5),
        ("Wulferhook", IN_PREPARATION, REPORT_DATE, 0.44, (376700.0, 5749300.0), 2.0),
        ("Herteler", INSUFFICIENT, REPORT_DATE, 0.31, (377900.0, 5750900.0), 1.8),
        ("Beikel", INSUFFICIENT, REPORT_DATE, 0.27, (374300.0, 5748400.0), 2.5),
        ("Stripperhook", INSUFFICIENT, REPORT_DATE, 0.36, (372700.0, 5751400.0), 2.5),
    )
)

# Seed points of the Ortsteile; each district is the union of its seeds' Voronoi cells.
DISTRICT_SEEDS: dict[str, tuple[XY, ...]] = {
    "Kernstadt": (
        (374200.0, 5756400.0),
        (376800.0, 5758800.0),
        (378000.0, 5755300.0),
        (372600.0, 5759200.0),
        (369300.0, 5757300.0),
        (367900.0, 5754300.0),
        (372700.0, 5755900.0),
        (376000.0, 5754200.0),
    ),
    "Lette": (
        (375400.0, 5751050.0),
        (377900.0, 5751000.0),
        (372400.0, 5749900.0),
        (369800.0, 5748300.0),
        (367100.0, 5749800.0),
        (374300.0, 5748000.0),
    ),
    "Goxel": ((370700.0, 5755000.0), (370700.0, 5753600.0)),
}


# ---------------------------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------------------------


def polygons_of(geom: BaseGeometry) -> list[Polygon]:
    """Return the polygon parts of any geometry, descending into collections."""
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if hasattr(geom, "geoms"):
        return [part for sub in geom.geoms for part in polygons_of(sub)]
    return []


def to_multipolygon(geom: BaseGeometry, min_area: float = 2000.0) -> MultiPolygon:
    """Snap to the 0.01 m grid, drop slivers smaller than `min_area` m² and promote to multi."""
    snapped = shapely.set_precision(geom, GRID)
    parts = [part for part in polygons_of(snapped) if part.area >= min_area]
    return MultiPolygon(parts)


def blob(rng: np.random.Generator, centre: XY, semi: XY, roughness: float) -> Polygon:
    """A smooth star-shaped blob of 40 vertices: an ellipse with random low harmonics."""
    theta = np.linspace(0.0, 2.0 * math.pi, 40, endpoint=False)
    radius = np.ones_like(theta)
    for k in (2, 3, 4, 5):
        amplitude = rng.uniform(0.0, roughness / k)
        radius += amplitude * np.cos(k * theta + rng.uniform(0.0, 2.0 * math.pi))
    xs = centre[0] + semi[0] * radius * np.cos(theta)
    ys = centre[1] + semi[1] * radius * np.sin(theta)
    return Polygon(np.column_stack([xs, ys]))


def blob_of_area(rng: np.random.Generator, patch: Patch, roughness: float = 0.35) -> Polygon:
    """A blob around the patch centre, scaled to the patch's area in hectares."""
    stretch = rng.uniform(0.75, 1.33)
    shape = blob(rng, patch.centre, (100.0 * stretch, 100.0 / stretch), roughness)
    shape = affinity.rotate(shape, rng.uniform(0.0, 180.0), origin=patch.centre)
    factor = math.sqrt(patch.hectares * 10_000.0 / shape.area)
    return affinity.scale(shape, factor, factor, origin=patch.centre)


def wedge(centre: XY, start: float, end: float, reach: float = 20_000.0) -> Polygon:
    """A fan-shaped polygon from `centre` between two angles in degrees."""
    if end - start >= 360.0:
        return Point(centre).buffer(reach, quad_segs=4)
    steps = max(2, math.ceil((end - start) / 10.0))
    angles = np.radians(np.linspace(start, end, steps + 1))
    arc = np.column_stack([centre[0] + reach * np.cos(angles), centre[1] + reach * np.sin(angles)])
    return Polygon(np.vstack([centre, arc]))


def union(geoms: Sequence[BaseGeometry]) -> BaseGeometry:
    """Union of a list of geometries (empty polygon for an empty list)."""
    return shapely.union_all(list(geoms)) if geoms else Polygon()


# ---------------------------------------------------------------------------------------------
# Layers: municipality, districts, areas, hamlets, schools
# ---------------------------------------------------------------------------------------------


def load_boundary() -> gpd.GeoDataFrame:
    """Read the real DVG2 boundary and keep it unchanged, only promoted to MultiPolygon."""
    source = pyogrio.read_dataframe(BOUNDARY_FILE)
    assert source.crs.to_epsg() == EPSG and len(source) == 1
    row = source.iloc[0]
    assert row["GN"] == "Coesfeld" and row["KN"] == "05558012"
    geom = MultiPolygon([row.geometry]) if isinstance(row.geometry, Polygon) else row.geometry
    return gpd.GeoDataFrame(
        {"name": ["Coesfeld"], "ags": [row["KN"]]}, geometry=[geom], crs=f"EPSG:{EPSG}"
    )


def partition(pieces: Sequence[BaseGeometry], min_area: float) -> list[MultiPolygon]:
    """Cut possibly overlapping pieces into an exact coverage on the 0.01 m grid.

    All outlines are noded together and polygonised into faces; each face goes to the first piece
    that contains it. Neighbours therefore share identical edges: no slivers, no overlaps.
    """
    snapped = [shapely.set_precision(piece, GRID) for piece in pieces]
    lines = shapely.union_all(shapely.boundary(np.array(snapped)), grid_size=GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    owned: list[list[Polygon]] = [[] for _ in pieces]
    for face in faces:
        inside = face.point_on_surface()
        owner = next((i for i, piece in enumerate(snapped) if piece.contains(inside)), None)
        if owner is not None:
            owned[owner].append(face)
    return [
        MultiPolygon([part for part in polygons_of(coverage(faces)) if part.area >= min_area])
        for faces in owned
    ]


def coverage(faces: list[Polygon]) -> BaseGeometry:
    """Union of faces that share exact edges, keeping their vertices."""
    return shapely.coverage_union_all(faces) if faces else Polygon()


def build_districts(boundary: BaseGeometry) -> list[Record]:
    """Ortsteile as merged Voronoi cells of their seed points, clipped to the boundary."""
    seeds = [(name, xy) for name, points in DISTRICT_SEEDS.items() for xy in points]
    envelope = box(*boundary.buffer(5000.0).bounds)
    cells = shapely.voronoi_polygons(MultiPoint([xy for _, xy in seeds]), extend_to=envelope)
    by_name: dict[str, list[BaseGeometry]] = {name: [] for name in DISTRICT_SEEDS}
    for cell in cells.geoms:
        owner = next(name for name, xy in seeds if cell.contains(Point(xy)))
        by_name[owner].append(cell)
    inside = boundary.buffer(-GRID, join_style="mitre")
    pieces = [union(parts).intersection(inside) for parts in by_name.values()]
    return [
        {"name": name, "approximate": True, "geometry": geom}
        for name, geom in zip(by_name, partition(pieces, min_area=0.0), strict=True)
    ]


def commercial_pieces(rng: np.random.Generator, inner: BaseGeometry) -> list[Piece]:
    """Commercial areas as blobs at the edge of the settlements, kept apart by 10 m."""
    pieces: list[Piece] = []
    for area, patch in COMMERCIAL_PATCHES:
        taken = union([shape for _, shape in pieces]).buffer(10.0)
        shape = blob_of_area(rng, patch, roughness=0.2).intersection(inner).difference(taken)
        pieces.append((area, shape))
    return pieces


def settlement_pieces(rng: np.random.Generator, inner: BaseGeometry) -> list[Piece]:
    """Each town body as its core followed by angular sectors (the core takes precedence)."""
    pieces: list[Piece] = []
    for town in TOWNS:
        semi = (town.body.semi_x, town.body.semi_y)
        body = blob(rng, town.body.centre, semi, town.roughness).intersection(inner)
        if town.core is not None:
            hectares = math.pi * town.core_radius**2 / 10_000.0
            core = blob_of_area(rng, Patch(town.core.name, town.core_centre, hectares), 0.2)
            pieces.append((town.core, body.intersection(core)))
        for sector in town.sectors:
            shape = body.intersection(wedge(town.core_centre, sector.start, sector.end))
            pieces.append((sector.area, shape))
    return pieces


def build_built_up(rng: np.random.Generator, inner: BaseGeometry) -> list[Record]:
    """Settlement and commercial areas as one exact coverage; commercial areas cut settlements."""
    commercial = commercial_pieces(rng, inner)
    settlements = settlement_pieces(rng, inner)
    pieces = commercial + settlements
    shapes = partition([shape for _, shape in pieces], min_area=2000.0)
    records = [area_record(area, shape) for (area, _), shape in zip(pieces, shapes, strict=True)]
    return records[len(commercial) :] + records[: len(commercial)]


def build_patches(
    rng: np.random.Generator,
    patches: Sequence[tuple[Any, Patch]],
    inner: BaseGeometry,
    taken: BaseGeometry,
    gap: float,
) -> list[tuple[Any, MultiPolygon]]:
    """Free-standing blobs that keep `gap` metres from `taken` and from each other."""
    shapes: list[tuple[Any, MultiPolygon]] = []
    for attributes, patch in patches:
        blocked = union([taken, *(shape for _, shape in shapes)]).buffer(gap)
        shape = blob_of_area(rng, patch).intersection(inner).difference(blocked)
        shapes.append((attributes, to_multipolygon(shape, min_area=50_000.0)))
    return shapes


def area_record(area: Area, geom: MultiPolygon) -> Record:
    """One feature of the areas layer."""
    return {
        "name": area.name,
        "kind": area.kind,
        "status": area.status,
        "funding": area.funding,
        "provider": area.provider,
        "status_since": area.since,
        "notes": area.notes,
        "approximate": True,
        "geometry": geom,
    }


def hamlet_record(hamlet: Hamlet, geom: MultiPolygon) -> Record:
    """One feature of the hamlets layer."""
    return {
        "name": hamlet.patch.name,
        "status": hamlet.status,
        "status_since": hamlet.since,
        "demand_share": hamlet.demand_share,
        "approximate": True,
        "geometry": geom,
    }


def connection_of(name: str) -> str:
    """How a school is connected, after the November 2021 council report."""
    if "Laurentius" in name:
        return "commitment"
    if name == "Mira-Lobe-Schule":
        return "lte"
    return "fibre"


def build_schools(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The 17 real schools, reprojected to EPSG:25832, with their connection status."""
    source = pyogrio.read_dataframe(SCHOOLS_FILE).to_crs(EPSG)
    source = source.sort_values("Schulnummer", kind="stable").reset_index(drop=True)
    first, span = date(2020, 3, 2), (date(2021, 9, 30) - date(2020, 3, 2)).days
    records = []
    for _, row in source.iterrows():
        name = str(row["Amtliche Bezeichnung 1"])
        connection = connection_of(name)
        since = first + timedelta(days=int(rng.integers(0, span + 1)))
        records.append(
            {
                "name": name,
                "school_type": str(row["Schulform"]),
                "pupils": int(str(row["Anzahl"]).strip()),
                "connection": connection,
                "status_since": since.isoformat() if connection == "fibre" else REPORT_DATE,
                "school_number": str(row["Schulnummer"]),
                "street": str(row["Straße und Hausnummer"]),
                "postcode": str(row["Postleitzahl"]),
                "geometry": shapely.set_precision(row.geometry, GRID),
            }
        )
    return gpd.GeoDataFrame(records, geometry="geometry", crs=f"EPSG:{EPSG}")


# ---------------------------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreetStyle:
    """How the houses of one kind of street are laid out, in metres."""

    spacing: float
    offset: float
    min_gap: float
    houses: tuple[int, int]
    curvature: float


SETTLEMENT_STREETS = StreetStyle(21.0, 11.0, 10.0, (14, 60), 0.12)
COMMERCIAL_STREETS = StreetStyle(55.0, 28.0, 30.0, (5, 14), 0.05)
HAMLET_LANES = StreetStyle(110.0, 30.0, 60.0, (3, 10), 0.35)
RURAL_LANES = StreetStyle(160.0, 30.0, 90.0, (3, 8), 0.3)

SHARES = {"settlement": 0.80, "commercial": 0.03, "hamlet": 0.10, "outskirts": 0.01}


def words(*lines: str) -> tuple[str, ...]:
    """The blank-separated words of some lines of text."""
    return tuple(word for line in lines for word in line.split())


# Stems of generated street names: trees, flowers, birds and Münsterland landscape words.
TREES = words(
    "Eichen Buchen Birken Linden Erlen Eschen Ulmen Ahorn Kastanien Tannen Fichten Kiefern",
    "Weiden Pappel Holunder Hasel Ebereschen Lärchen Eiben Kirsch Apfel Birnen Walnuss",
    "Akazien Platanen Wacholder Hainbuchen Schlehen Weißdorn",
)
FLOWERS = words(
    "Rosen Tulpen Nelken Lilien Veilchen Astern Dahlien Narzissen Krokus Flieder Ginster",
    "Lavendel Mohn Kornblumen Margeriten Primel Enzian Malven Sonnenblumen Glockenblumen",
    "Schlüsselblumen Klee",
)
BIRDS = words(
    "Amsel Drossel Finken Meisen Lerchen Schwalben Stieglitz Zeisig Kiebitz Storchen Reiher",
    "Falken Habicht Eulen Specht Kranich Bussard Dohlen Elstern Rotkehlchen Sperlings Wachtel",
    "Kuckucks Pirol Zaunkönig Bachstelzen",
)
LANDSCAPE = words(
    "Berkel Baumberge Esch Brook Venn Mersch Heide Mühlen Hof Kolk Busch Wiesen Feld Hünen",
    "Kotten Spieker Gräften Wallhecken Sand Moor Wald Bach Teich Brunnen Hügel Sonnen Quellen",
)
STREET_STEMS = TREES + FLOWERS + BIRDS + LANDSCAPE
STREET_SUFFIXES = ("weg", "straße", "ring", "kamp", "pfad", "allee", "stiege", "gasse")


@dataclass(frozen=True)
class Fixed:
    """A hand-placed address with a stable name, for tests and demos."""

    street: str
    number: str
    target: str  # name of the area or hamlet it must lie in, or "" for open country
    at: XY | None = None  # fixed position; None: a representative point of the target


FIXED_ADDRESSES = (
    Fixed("Marktplatz", "1", "Kernstadt Innenstadt", (374090.0, 5756600.0)),  # ~MARKET_REFERENCE
    Fixed("Nordstraße", "1", "Kernstadt Nord"),
    Fixed("Südweststraße", "1", "Kernstadt Südwest II"),
    Fixed("Dreiskamp", "1", "Dreiskamp"),
    Fixed("Wulferhook", "1", "Wulferhook"),
    Fixed("Am Einzelhof", "1", ""),
)


class Occupancy:
    """A hash grid of the address points placed so far, to keep them apart."""

    def __init__(self, cell: float = 10.0) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[XY]] = {}

    def is_free(self, xy: XY, gap: float) -> bool:
        """True if no placed point lies within `gap` metres of `xy`."""
        reach = math.ceil(gap / self.cell)
        cx, cy = int(xy[0] // self.cell), int(xy[1] // self.cell)
        for i in range(cx - reach, cx + reach + 1):
            for j in range(cy - reach, cy + reach + 1):
                for other in self.cells.get((i, j), ()):
                    if math.dist(xy, other) < gap:
                        return False
        return True

    def add(self, xy: XY) -> None:
        """Record a placed point."""
        key = (int(xy[0] // self.cell), int(xy[1] // self.cell))
        self.cells.setdefault(key, []).append(xy)


def random_point(rng: np.random.Generator, poly: BaseGeometry) -> XY:
    """A uniformly random point inside `poly` (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = poly.bounds
    while True:
        xs = rng.uniform(minx, maxx, 64)
        ys = rng.uniform(miny, maxy, 64)
        inside = np.flatnonzero(shapely.contains_xy(poly, xs, ys))
        if inside.size:
            return float(xs[inside[0]]), float(ys[inside[0]])


def walk_street(
    rng: np.random.Generator, start: XY, heading: float, style: StreetStyle, steps: int
) -> list[XY]:
    """Candidate house positions on both sides of a gently curving street from `start`."""
    x, y = start
    points: list[XY] = []
    for _ in range(steps):
        heading += rng.normal(0.0, style.curvature)
        x, y = x + style.spacing * math.cos(heading), y + style.spacing * math.sin(heading)
        nx, ny = -math.sin(heading) * style.offset, math.cos(heading) * style.offset
        points += [(round(x + nx, 2), round(y + ny, 2)), (round(x - nx, 2), round(y - ny, 2))]
    return points


def place_street(
    rng: np.random.Generator,
    poly: BaseGeometry,
    style: StreetStyle,
    wanted: int,
    grid: Occupancy,
    *,
    base: float,
) -> list[XY]:
    """Lay out one street in `poly`; return the houses that fit before it runs into something.

    Streets follow the polygon's grid direction `base` (or one of its right angles), so the
    houses of a settlement line up roughly like a street grid.
    """
    heading = base + math.pi / 2.0 * int(rng.integers(0, 4)) + rng.normal(0.0, 0.08)
    candidates = walk_street(rng, random_point(rng, poly), heading, style, wanted)
    xs, ys = np.array(candidates).T
    inside = shapely.contains_xy(poly, xs, ys)
    houses: list[XY] = []
    misses = 0
    for xy, ok in zip(candidates, inside, strict=True):
        near_new = any(math.dist(xy, other) < style.min_gap for other in houses)
        if ok and not near_new and grid.is_free(xy, style.min_gap):
            houses.append(xy)
            misses = 0
        else:
            misses += 1
        if len(houses) == wanted or (houses and misses >= 3):
            break
    return houses


def fill_streets(
    rng: np.random.Generator, poly: BaseGeometry, style: StreetStyle, count: int, grid: Occupancy
) -> list[list[XY]]:
    """Streets of houses inside `poly`, `count` houses in all."""
    shapely.prepare(poly)
    base = rng.uniform(0.0, math.pi / 2.0)
    streets: list[list[XY]] = []
    placed, attempts = 0, 0
    while placed < count:
        attempts += 1
        assert attempts < 50 * count + 1000, f"cannot place {count} addresses in {poly.bounds}"
        wanted = min(int(rng.integers(style.houses[0], style.houses[1] + 1)), count - placed)
        houses = place_street(rng, poly, style, wanted, grid, base=base)
        if len(houses) < min(wanted, 3 if attempts <= 5 * count else 1):
            continue
        for xy in houses:
            grid.add(xy)
        streets.append(houses)
        placed += len(houses)
    return streets


def house_numbers(rng: np.random.Generator, count: int, first: int = 1) -> list[str]:
    """House numbers first, first+1, … with an occasional extra "12a"."""
    labels: list[str] = []
    number = first
    while len(labels) < count:
        labels.append(str(number))
        if len(labels) < count and rng.random() < 0.03:
            labels.append(f"{number}a")
        number += 1
    return labels


def street_names(rng: np.random.Generator, reserved: set[str]) -> Iterator[str]:
    """An endless-looking, shuffled, duplicate-free supply of plausible German street names."""
    names = [f"{stem}{suffix}" for stem in STREET_STEMS for suffix in STREET_SUFFIXES]
    names = [name for name in dict.fromkeys(names) if name not in reserved]
    for index in rng.permutation(len(names)):
        yield names[int(index)]
    raise RuntimeError("street name pool exhausted")


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder, deterministic)."""
    raw = np.asarray(weights, dtype=float) / float(np.sum(weights)) * total
    counts = np.floor(raw).astype(int)
    for index in np.argsort(-(raw - counts), kind="stable")[: total - int(counts.sum())]:
        counts[index] += 1
    return [int(count) for count in counts]


def address_rows(
    streets: list[list[XY]], names: list[str], numbers: list[list[str]], category: str
) -> list[Record]:
    """Flatten named, numbered streets into address records."""
    return [
        {"street": name, "house_number": label, "category": category, "xy": xy}
        for houses, name, labels in zip(streets, names, numbers, strict=True)
        for xy, label in zip(houses, labels, strict=True)
    ]


def named_streets(
    rng: np.random.Generator, streets: list[list[XY]], pool: Iterator[str], category: str
) -> list[Record]:
    """Give each street its own name from the pool and number its houses 1..n."""
    names = [next(pool) for _ in streets]
    numbers = [house_numbers(rng, len(houses)) for houses in streets]
    return address_rows(streets, names, numbers, category)


def hamlet_streets(
    rng: np.random.Generator, streets: list[list[XY]], name: str, first: int
) -> list[Record]:
    """Farmsteads of a Bauerschaft: all lanes carry the hamlet's name, numbered through."""
    labels = house_numbers(rng, sum(len(houses) for houses in streets), first)
    numbers, start = [], 0
    for houses in streets:
        numbers.append(labels[start : start + len(houses)])
        start += len(houses)
    return address_rows(streets, [name] * len(streets), numbers, "hamlet")


def fixed_rows(
    areas: dict[str, BaseGeometry], rural: BaseGeometry, grid: Occupancy
) -> list[Record]:
    """The hand-placed addresses, reserved in the occupancy grid first."""
    rows = []
    for fixed in FIXED_ADDRESSES:
        target = areas[fixed.target] if fixed.target else rural
        xy = fixed.at or target.point_on_surface().coords[0]
        xy = (round(xy[0], 2), round(xy[1], 2))
        assert target.contains(Point(xy)), f"{fixed.street} {fixed.number} misplaced"
        grid.add(xy)
        category = category_of(fixed.target)
        rows.append(
            {"street": fixed.street, "house_number": fixed.number, "xy": xy, "category": category}
        )
    return rows


def category_of(target: str) -> str:
    """The address category of a fixed address's target: an area kind, hamlet or rural."""
    if not target:
        return "rural"
    if target in {hamlet.patch.name for hamlet in HAMLETS}:
        return "hamlet"
    return expected_areas()[target].kind


def targets(fixed: list[Record]) -> dict[str, int]:
    """How many generated addresses each category still needs, after the fixed ones."""
    wanted = apportion(TOTAL_ADDRESSES, [*SHARES.values(), 1.0 - sum(SHARES.values())])
    per_category = dict(zip([*SHARES, "rural"], wanted, strict=True))
    for row in fixed:
        per_category[row["category"]] -= 1
    return per_category


def fill_layer(
    rng: np.random.Generator,
    polys: list[tuple[str, BaseGeometry]],
    count: int,
    style: StreetStyle,
    grid: Occupancy,
) -> list[tuple[str, list[list[XY]]]]:
    """Spread `count` houses over named polygons in proportion to their areas."""
    counts = apportion(count, [poly.area for _, poly in polys])
    return [
        (name, fill_streets(rng, poly, style, n, grid))
        for (name, poly), n in zip(polys, counts, strict=True)
    ]


def build_addresses(
    rng: np.random.Generator, areas: list[Record], hamlets: list[Record], inner: BaseGeometry
) -> gpd.GeoDataFrame:
    """About 80 % of the addresses in settlements, the rest in commercial and rural land."""
    by_kind = {
        kind: [(a["name"], a["geometry"]) for a in areas if a["kind"] == kind]
        for kind in (SETTLEMENT, COMMERCIAL, OUTSKIRTS)
    }
    hamlet_polys = [(h["name"], h["geometry"]) for h in hamlets]
    everything = union([a["geometry"] for a in areas] + [h["geometry"] for h in hamlets])
    rural = inner.buffer(-20.0).difference(everything.buffer(30.0))
    named = dict(by_kind[SETTLEMENT] + by_kind[COMMERCIAL] + by_kind[OUTSKIRTS] + hamlet_polys)
    grid = Occupancy()
    rows = fixed_rows(named, rural, grid)
    need = targets(rows)
    pool = street_names(rng, {row["street"] for row in rows} | {n for n, _ in hamlet_polys})
    for kind, style in ((SETTLEMENT, SETTLEMENT_STREETS), (COMMERCIAL, COMMERCIAL_STREETS)):
        for _, streets in fill_layer(rng, by_kind[kind], need[kind], style, grid):
            rows += named_streets(rng, streets, pool, kind)
    for name, streets in fill_layer(rng, hamlet_polys, need["hamlet"], HAMLET_LANES, grid):
        first = 1 + sum(1 for row in rows if row["street"] == name)
        rows += hamlet_streets(rng, streets, name, first)
    for kind, polys in ((OUTSKIRTS, by_kind[OUTSKIRTS]), ("rural", [("", rural)])):
        for _, streets in fill_layer(rng, polys, need[kind], RURAL_LANES, grid):
            rows += named_streets(rng, streets, pool, kind)
    return addresses_frame(rows)


def addresses_frame(rows: list[Record]) -> gpd.GeoDataFrame:
    """The addresses layer (the category column is for the summary only, not written)."""
    frame = gpd.GeoDataFrame(
        {
            "street": [row["street"] for row in rows],
            "house_number": [row["house_number"] for row in rows],
            "postcode": POSTCODE,
            "approximate": True,
            "category": [row["category"] for row in rows],
        },
        geometry=[Point(row["xy"]) for row in rows],
        crs=f"EPSG:{EPSG}",
    )
    return frame


# ---------------------------------------------------------------------------------------------
# Writing and checking
# ---------------------------------------------------------------------------------------------


def write_layer(frame: gpd.GeoDataFrame, name: str, precision: int = 2) -> Path:
    """Write one layer as GeoJSON in EPSG:25832 with a `crs` member, then check the CRS."""
    path = OUT / f"{name}.geojson"
    path.unlink(missing_ok=True)
    options = {"COORDINATE_PRECISION": str(precision), "RFC7946": "NO", "WRITE_BBOX": "NO"}
    frame.to_file(path, driver="GeoJSON", engine="pyogrio", layer=name, layer_options=options)
    assert pyogrio.read_info(path)["crs"] == f"EPSG:{EPSG}", f"{path.name}: wrong CRS"
    return path


def read_layer(name: str) -> gpd.GeoDataFrame:
    """Read a written layer back, dates as strings."""
    frame = pyogrio.read_dataframe(OUT / f"{name}.geojson", datetime_as_string=True)
    assert frame.crs is not None and frame.crs.to_epsg() == EPSG, f"{name}: wrong CRS"
    return frame


def check_geometries(frame: gpd.GeoDataFrame, kind: str, boundary: BaseGeometry) -> None:
    """Every geometry valid, non-empty, of the right type and inside the boundary."""
    geoms = frame.geometry.array
    assert shapely.is_valid(geoms).all(), "invalid geometry"
    assert not shapely.is_empty(geoms).any(), "empty geometry"
    assert set(frame.geom_type) == {kind}, f"expected {kind}, got {set(frame.geom_type)}"
    assert shapely.contains(boundary, geoms).all(), "geometry outside the boundary"


def overlapping(
    geoms: Sequence[BaseGeometry], others: Sequence[BaseGeometry] = ()
) -> list[tuple[int, int]]:
    """Index pairs whose interiors meet: within `geoms`, or between `geoms` and `others`."""
    pairs = (
        [(i, j) for i in range(len(geoms)) for j in range(i + 1, len(geoms))]
        if not others
        else [(i, j) for i in range(len(geoms)) for j in range(len(others))]
    )
    second = others or geoms
    return [(i, j) for i, j in pairs if geoms[i].relate_pattern(second[j], "T********")]


def check_municipality(boundary: BaseGeometry) -> None:
    """The municipality layer holds the source polygon unchanged."""
    frame = read_layer("municipality")
    source = pyogrio.read_dataframe(BOUNDARY_FILE).geometry.iloc[0]
    assert len(frame) == 1
    assert (frame.loc[0, "name"], frame.loc[0, "ags"]) == ("Coesfeld", "05558012")
    assert frame.geom_type.iloc[0] == "MultiPolygon"
    assert shapely.equals_exact(frame.geometry.iloc[0], MultiPolygon([source]), tolerance=0.0)
    assert shapely.equals_exact(boundary, source, tolerance=0.0)


def check_districts(boundary: BaseGeometry) -> gpd.GeoDataFrame:
    """Three Ortsteile that partition the municipality (0.01 % area tolerance)."""
    frame = read_layer("districts")
    check_geometries(frame, "MultiPolygon", boundary)
    assert list(frame["name"]) == ["Kernstadt", "Lette", "Goxel"] and frame["approximate"].all()
    geoms = list(frame.geometry)
    assert not overlapping(geoms), "districts overlap"
    gap = shapely.symmetric_difference(union(geoms), boundary).area
    assert gap / boundary.area < 1e-4, f"districts do not partition the boundary ({gap:.0f} m²)"
    by_name = dict(zip(frame["name"], geoms, strict=True))
    assert by_name["Lette"].contains(Point(utm(*LETTE_REFERENCE)))
    assert by_name["Kernstadt"].contains(Point(utm(*CENTRE_REFERENCE)))
    assert by_name["Kernstadt"].contains(Point(utm(*MARKET_REFERENCE)))
    shares = {name: geom.area / boundary.area for name, geom in by_name.items()}
    assert shares["Goxel"] < 0.2 * (shares["Kernstadt"] + shares["Lette"]), shares
    return frame


def utm(lat: float, lon: float) -> XY:
    """WGS84 latitude/longitude to EPSG:25832 easting/northing."""
    transformer = Transformer.from_crs(4326, EPSG, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return float(x), float(y)


def expected_areas() -> dict[str, Area]:
    """Every expansion area by name, as specified above."""
    settlements = [town.core for town in TOWNS if town.core is not None] + [
        sector.area for town in TOWNS for sector in town.sectors
    ]
    patches = [area for area, _ in (*COMMERCIAL_PATCHES, *OUTSKIRTS_PATCHES)]
    return {area.name: area for area in patches + settlements}


def district_of(name: str, kind: str) -> str | None:
    """The Ortsteil an area must lie in, judged by its name (None: not checked)."""
    if kind == OUTSKIRTS:
        return None
    for district in DISTRICT_SEEDS:
        if name.startswith(district):
            return district
    return "Lette" if name == "Otterkamp" else "Kernstadt"


def check_area_attributes(frame: gpd.GeoDataFrame) -> None:
    """Names, kinds, statuses, funding, providers and dates as specified."""
    expected = expected_areas()
    assert sorted(frame["name"]) == sorted(expected), "unexpected area names"
    for row in frame.itertuples():
        area = expected[str(row.name)]
        got = (row.kind, row.status, row.funding, row.status_since, nullable(row.provider))
        assert got == (area.kind, area.status, area.funding, area.since, area.provider), got
        assert nullable(row.notes) == area.notes and row.approximate is True
        assert area.status in STATUSES and area.funding in {PRIVATE, FUNDED, UNKNOWN}
        assert area.provider in {DG, OMNION, None}
        date.fromisoformat(area.since)
    status = dict(zip(frame["name"], frame["status"], strict=True))
    assert status["Kernstadt Innenstadt"] == INSUFFICIENT
    assert (
        status["Kernstadt Ost"] == INSUFFICIENT and status["Kernstadt Südwest III"] == INSUFFICIENT
    )
    assert status["Kernstadt Südwest II"] == UNDER_CONSTRUCTION
    settlement = frame[frame["kind"] == SETTLEMENT]
    assert (settlement["status"] == CONNECTED).mean() > 0.5, "most settlements are connected"
    commercial = frame[frame["kind"] == COMMERCIAL].set_index("name")
    assert commercial.loc[IPNW.name, "funding"] == PRIVATE and len(commercial) == 9
    funded = commercial.drop(index=IPNW.name)
    assert (funded["funding"] == FUNDED).all() and (funded["status_since"] == "2021-07-01").all()


def check_area_geometry(frame: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> None:
    """Sizes, no overlaps between or within kinds, and each area in its Ortsteil."""
    geoms = {kind: list(frame[frame["kind"] == kind].geometry) for kind in SHARES}
    assert not overlapping(geoms[COMMERCIAL]), "commercial areas overlap"
    assert not overlapping(geoms[SETTLEMENT]), "settlement areas overlap"
    assert not overlapping(geoms[SETTLEMENT], geoms[COMMERCIAL]), "settlement on commercial"
    assert not overlapping(geoms[OUTSKIRTS], geoms[SETTLEMENT] + geoms[COMMERCIAL])
    assert not overlapping(geoms[OUTSKIRTS]), "outskirts areas overlap"
    hectares = dict(zip(frame["name"], frame.area / 10_000.0, strict=True))
    assert 50.0 <= hectares[IPNW.name] <= 60.0, hectares[IPNW.name]
    for area, _ in COMMERCIAL_PATCHES[1:]:
        assert 5.0 <= hectares[area.name] <= 30.0, (area.name, hectares[area.name])
    district = dict(zip(districts["name"], districts.geometry, strict=True))
    for row in frame.itertuples():
        owner = district_of(str(row.name), str(row.kind))
        if owner is not None:
            inside = row.geometry.intersection(district[owner]).area / row.geometry.area
            assert inside > 0.99, f"{row.name} lies outside {owner}"
    for prefix, low, high in (("Kernstadt", 3000.0, 4500.0), ("Lette", 1200.0, 2000.0)):
        names = frame["name"].str.startswith(prefix) & (frame["kind"] == SETTLEMENT)
        minx, miny, maxx, maxy = frame[names].total_bounds
        assert low <= max(maxx - minx, maxy - miny) <= high, (prefix, maxx - minx, maxy - miny)


def nullable(value: Any) -> Any:
    """None for a missing value read back from a file."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def check_areas(boundary: BaseGeometry, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The expansion-area layer: attributes, geometry, no overlaps."""
    frame = read_layer("areas")
    check_geometries(frame, "MultiPolygon", boundary)
    check_area_attributes(frame)
    check_area_geometry(frame, districts)
    return frame


def check_hamlets(
    boundary: BaseGeometry, areas: gpd.GeoDataFrame, districts: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Bauerschaften: statuses from the report, 1-6 km², apart from each other and the areas."""
    frame = read_layer("hamlets")
    check_geometries(frame, "MultiPolygon", boundary)
    status = dict(zip(frame["name"], frame["status"], strict=True))
    share = {k: nullable(v) for k, v in zip(frame["name"], frame["demand_share"], strict=True)}
    assert len(status) == len(frame) == len(HAMLETS) and frame["approximate"].all()
    assert {n for n, s in status.items() if s == IN_PREPARATION} == {"Brink Süd", "Wulferhook"}
    short = {n for n, s in status.items() if s == INSUFFICIENT}
    assert short == {"Herteler", "Beikel", "Stripperhook"}
    assert all(share[name] is not None and share[name] < 0.4 for name in short)
    assert sum(s == CONNECTED for s in status.values()) >= 6
    assert all(v is None or 0.0 <= v <= 1.0 for v in share.values())
    assert all(date.fromisoformat(since) for since in frame["status_since"])
    km2 = frame.area / 1e6
    assert km2.between(1.0, 6.0).all(), dict(zip(frame["name"], km2, strict=True))
    assert not overlapping(list(frame.geometry)), "hamlets overlap"
    assert not overlapping(list(frame.geometry), list(areas.geometry)), "hamlet on an area"
    for row in frame.itertuples():
        share = max(row.geometry.intersection(d).area for d in districts.geometry)
        assert share > 0.9 * row.geometry.area, f"{row.name} is split between Ortsteile"
    return frame


def check_schools(boundary: BaseGeometry) -> gpd.GeoDataFrame:
    """The 17 real schools, their attributes and connection."""
    frame = read_layer("schools")
    check_geometries(frame, "Point", boundary)
    source = pyogrio.read_dataframe(SCHOOLS_FILE).to_crs(EPSG)
    assert len(frame) == len(source) == 17 and frame["name"].is_unique
    assert set(frame["school_number"]) == set(source["Schulnummer"])
    connection = dict(zip(frame["name"], frame["connection"], strict=True))
    assert connection.pop("Laurentiusschule") == "commitment"
    assert connection.pop("Mira-Lobe-Schule") == "lte"
    assert set(connection.values()) == {"fibre"}
    assert frame["pupils"].dtype.kind == "i" and (frame["pupils"] > 0).all()
    fibre = frame[frame["connection"] == "fibre"]["status_since"]
    assert fibre.between("2020-01-01", "2021-12-31").all()
    source = source.set_index("Schulnummer").loc[list(frame["school_number"])]
    moved = shapely.distance(frame.geometry.array, source.geometry.array)
    assert moved.max() < 0.01, "school moved"
    return frame


def check_addresses(
    boundary: BaseGeometry, areas: gpd.GeoDataFrame, hamlets: gpd.GeoDataFrame
) -> Counter[str]:
    """12,000 unique, distinct address points, mostly in settlements; returns the categories."""
    frame = read_layer("addresses")
    check_geometries(frame, "Point", boundary)
    assert len(frame) == TOTAL_ADDRESSES and frame["approximate"].all()
    assert not frame.duplicated(["street", "house_number"]).any(), "duplicate address"
    assert not frame.geometry.duplicated().any(), "coinciding address points"
    assert (frame["postcode"] == POSTCODE).all()
    assert frame["house_number"].str.fullmatch(r"[1-9][0-9]*a?").all()
    extent = frame.geometry.bounds.groupby(frame["street"]).agg(
        {"minx": "min", "miny": "min", "maxx": "max", "maxy": "max"}
    )
    assert ((extent["maxx"] - extent["minx"]).max(), (extent["maxy"] - extent["miny"]).max()) < (
        4000.0,
        4000.0,
    ), "a street is not a cluster"
    labels = classify(frame, areas, hamlets)
    check_fixed_addresses(frame, labels)
    counts = Counter(label.split(":")[0] for label in labels)
    for category, share in SHARES.items():
        assert abs(counts[category] / len(frame) - share) < 0.005, (category, counts[category])
    return counts


def classify(
    frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, hamlets: gpd.GeoDataFrame
) -> list[str]:
    """For every address "kind:status:name" of the area or hamlet it lies in, or "rural"."""
    polygons = [
        (f"{row.kind}:{row.status}:{row.funding}:{row.name}", row.geometry)
        for row in areas.itertuples()
    ] + [(f"hamlet:{row.status}::{row.name}", row.geometry) for row in hamlets.itertuples()]
    tree = shapely.STRtree([geom for _, geom in polygons])
    point_index, polygon_index = tree.query(frame.geometry.array, predicate="within")
    assert len(set(point_index.tolist())) == len(point_index), "address in two polygons"
    labels = ["rural"] * len(frame)
    for point, polygon in zip(point_index, polygon_index, strict=True):
        labels[int(point)] = polygons[int(polygon)][0]
    return labels


def check_fixed_addresses(frame: gpd.GeoDataFrame, labels: list[str]) -> None:
    """The hand-placed addresses exist and lie where tests and demos expect them."""
    index = {
        f"{street} {number}": position
        for position, (street, number) in enumerate(
            zip(frame["street"], frame["house_number"], strict=True)
        )
    }
    expected = {
        "Marktplatz 1": f"{SETTLEMENT}:{INSUFFICIENT}:{UNKNOWN}:Kernstadt Innenstadt",
        "Nordstraße 1": f"{SETTLEMENT}:{CONNECTED}:{PRIVATE}:Kernstadt Nord",
        "Südweststraße 1": f"{SETTLEMENT}:{UNDER_CONSTRUCTION}:{PRIVATE}:Kernstadt Südwest II",
        "Dreiskamp 1": f"{COMMERCIAL}:{CONNECTED}:{FUNDED}:Dreiskamp",
        "Wulferhook 1": f"hamlet:{IN_PREPARATION}::Wulferhook",
        "Am Einzelhof 1": "rural",
    }
    assert len(expected) == len(FIXED_ADDRESSES)
    for address, label in expected.items():
        assert labels[index[address]] == label, (address, labels[index[address]])


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def build_layers(rng: np.random.Generator, boundary: BaseGeometry) -> dict[str, Any]:
    """Generate every layer but the municipality, in a fixed order (the order fixes the output)."""
    inner = boundary.buffer(-1.0, join_style="mitre")
    districts = build_districts(boundary)
    built_up = build_built_up(rng, inner)
    built = union([record["geometry"] for record in built_up])
    outskirts = build_patches(rng, OUTSKIRTS_PATCHES, inner, built, gap=150.0)
    taken = union([built, *(shape for _, shape in outskirts)])
    hamlet_shapes = build_patches(rng, [(h, h.patch) for h in HAMLETS], inner, taken, gap=100.0)
    areas = built_up + [area_record(a, shape) for a, shape in outskirts]
    hamlets = [hamlet_record(hamlet, shape) for hamlet, shape in hamlet_shapes]
    schools = build_schools(rng)
    addresses = build_addresses(rng, areas, hamlets, inner)
    return {
        "districts": frame_of(districts),
        "areas": frame_of(areas),
        "hamlets": frame_of(hamlets),
        "schools": schools,
        "addresses": addresses,
    }


def frame_of(records: list[Record]) -> gpd.GeoDataFrame:
    """A GeoDataFrame in EPSG:25832 from feature records."""
    return gpd.GeoDataFrame(records, geometry="geometry", crs=f"EPSG:{EPSG}")


def check_all(boundary: BaseGeometry) -> dict[str, Any]:
    """Re-read every written layer and check it; return what the summary needs."""
    check_municipality(boundary)
    districts = check_districts(boundary)
    areas = check_areas(boundary, districts)
    hamlets = check_hamlets(boundary, areas, districts)
    schools = check_schools(boundary)
    categories = check_addresses(boundary, areas, hamlets)
    return {
        "districts": districts,
        "areas": areas,
        "hamlets": hamlets,
        "schools": schools,
        "categories": categories,
    }


def print_summary(checked: dict[str, Any]) -> None:
    """Per-layer counts and per-status counts."""
    for name in LAYERS:
        path = OUT / f"{name}.geojson"
        count = pyogrio.read_info(path)["features"]
        print(f"{name:13s} {count:6d} features  {path.stat().st_size:9d} bytes")
    districts = checked["districts"]
    print(
        "districts km²:",
        {n: round(a / 1e6, 1) for n, a in zip(districts["name"], districts.area, strict=True)},
    )
    areas = checked["areas"]
    for kind in (SETTLEMENT, COMMERCIAL, OUTSKIRTS):
        statuses = Counter(areas[areas["kind"] == kind]["status"])
        print(f"areas/{kind}:", dict(sorted(statuses.items())))
    print("hamlets:", dict(sorted(Counter(checked["hamlets"]["status"]).items())))
    print("schools:", dict(sorted(Counter(checked["schools"]["connection"]).items())))
    print("addresses:", dict(sorted(checked["categories"].items())))


LAYERS = ("municipality", "districts", "areas", "hamlets", "schools", "addresses")


def main() -> None:
    """Build, write, re-read, check and summarise the Coesfeld data package."""
    rng = np.random.default_rng(SEED)
    OUT.mkdir(exist_ok=True)
    municipality = load_boundary()
    boundary = municipality.geometry.iloc[0].geoms[0]
    layers = build_layers(rng, boundary)
    write_layer(municipality, "municipality", precision=3)
    for name, frame in layers.items():
        write_layer(frame.drop(columns=["category"], errors="ignore"), name)
    print_summary(check_all(boundary))


if __name__ == "__main__":
    main()
