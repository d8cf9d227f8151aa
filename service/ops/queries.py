"""What the operations commands ask PostgreSQL about the server itself."""

from __future__ import annotations

from sqlalchemy import Connection, text

from service.ops.capacity import ServerConnections

SERVER_CONNECTIONS = text(
    """
    SELECT current_setting('max_connections')::int,
           current_setting('superuser_reserved_connections')::int
             + coalesce(current_setting('reserved_connections', true)::int, 0),
           (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
    """
)


def server_connections(connection: Connection) -> ServerConnections:
    """The server's connection limit, its reserved slots and the client backends now."""
    limit, reserved, in_use = connection.execute(SERVER_CONNECTIONS).one()
    return ServerConnections(max_connections=limit, reserved=reserved, in_use=in_use)
