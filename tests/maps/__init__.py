"""Tests of service.maps."""
