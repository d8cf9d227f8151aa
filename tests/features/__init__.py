"""Tests of service.features."""
