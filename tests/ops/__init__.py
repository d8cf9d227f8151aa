"""Tests of service.ops."""
