"""Whether N service processes fit the database's connection budget, decided before they start."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerConnections:
    """What the PostgreSQL server allows and what others already hold."""

    max_connections: int
    reserved: int  # superuser_reserved_connections (+ reserved_connections from PostgreSQL 16)
    in_use: int  # client backends connected right now, ours included


@dataclass(frozen=True)
class Budget:
    """The verdict: a refusal (the service would run out of connections) and/or a warning."""

    error: str | None
    warning: str | None


def budget(workers: int, pool_size: int, max_overflow: int, server: ServerConnections) -> Budget:
    """Refuse a configuration whose processes together may open more than the server allows.

    Each process may hold `pool_size + max_overflow` connections at peak. Connections other
    clients hold now only warn: they come and go, the server's limit does not.
    """
    per_process = pool_size + max_overflow
    wanted = workers * per_process
    available = server.max_connections - server.reserved
    each = f"({pool_size} pooled + {max_overflow} overflow)"
    sizing = f"{workers} worker(s) × {each} = {wanted} connections"
    if wanted > available:
        fits = max(available // per_process, 0)
        return Budget(
            error=(
                f"{sizing}, but the database allows {available} "
                f"(max_connections {server.max_connections} − {server.reserved} reserved): "
                f"lower BROADBAND_WORKERS (at most {fits} at this pool size), "
                "BROADBAND_DB_POOL_SIZE or BROADBAND_DB_MAX_OVERFLOW, or raise max_connections"
            ),
            warning=None,
        )
    free = available - server.in_use
    if wanted > free:
        return Budget(
            error=None,
            warning=(
                f"{sizing}; other clients hold {server.in_use} of {available} now, "
                f"so only {max(free, 0)} are free: under full load some requests will wait"
            ),
        )
    return Budget(error=None, warning=None)
