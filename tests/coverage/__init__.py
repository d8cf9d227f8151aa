"""Tests of service.coverage."""
