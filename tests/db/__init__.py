"""Tests of service.db."""
