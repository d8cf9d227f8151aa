"""Tests of service.core."""
