"""Tests of service.packages."""
