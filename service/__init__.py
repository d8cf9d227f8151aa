"""Broadband coverage service: a municipality's fibre roll-out, live from PostGIS."""

__version__ = "0.1.0"
