"""HTTP layer: routers parse, call the domain, serialise; nothing else."""
