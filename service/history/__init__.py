"""What changed between two dates: features added, removed or redrawn, statuses, coverage."""
