"""Tests of service.tiles."""
