"""Tests of the HTTP plumbing every capability shares: problems, middleware, negotiation."""
