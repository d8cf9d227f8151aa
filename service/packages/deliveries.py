"""Import a delivery in two steps, preview then commit, each its own transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session, sessionmaker

from service.auth.tokens import Principal, authorize
from service.core import metrics
from service.core.errors import NotFoundError
from service.core.limits import IMPORT_STATEMENT_TIMEOUT_MS
from service.db.engine import snapshot, transaction
from service.db.models import Import
from service.db.state import boundary_for, municipality, today
from service.layers import LAYERS, Role
from service.packages import import_queries as imports
from service.packages.importing import Checked, ImportRequest, check_delivery, require_importable


def _checked(session: Session, request: ImportRequest, ags: str | None) -> tuple[int, str, Checked]:
    require_importable(request.layer)
    town = boundary_for(session, None, municipality(session, ags).id)
    seen = imports.fingerprint(session, request.layer, town.id)
    current = imports.current_rows(session, request.layer, town.id, request.match)
    checked = check_delivery(request, current, town.geometry, town.name, today(session))
    return town.id, seen, checked


def preview(
    factory: sessionmaker[Session], request: ImportRequest, actor: str, ags: str | None = None
) -> Import:
    """Read and check the file, and store what committing it would change (nothing else)."""
    timeout = request.limits.statement_timeout_ms
    with snapshot(factory, timeout) as session:  # fingerprint and stored values of one moment
        municipality_id, seen, checked = _checked(session, request, ags)
    with transaction(factory, actor, timeout) as session:
        return imports.preview(session, request, municipality_id, checked, actor, seen)


def commit(
    factory: sessionmaker[Session],
    import_id: uuid.UUID,
    principal: Principal,
    statement_timeout_ms: int = IMPORT_STATEMENT_TIMEOUT_MS,
) -> Import:
    """Apply a stored preview in one transaction; the change log names the file and the actor.

    Only the person who uploaded it, or an admin, may commit a preview, and only with a role
    that may write its layer.
    """
    with transaction(factory, principal.name, statement_timeout_ms) as session:
        record = _own(session, import_id, principal)
        authorize(principal, LAYERS[record.layer])
        committed = imports.commit(session, import_id, principal.name)
    metrics.import_committed(committed.layer)  # counted once the transaction has committed
    return committed


def _own(session: Session, import_id: uuid.UUID, principal: Principal) -> Import:
    """The preview, if this principal uploaded it or is an admin; else as if it did not exist."""
    record = imports.get(session, import_id)
    if record.actor != principal.name and principal.role is not Role.ADMIN:
        raise NotFoundError(
            f"no import {import_id} of yours; only its uploader or an admin sees it"
        )
    return record


def stored(session: Session, import_id: uuid.UUID, principal: Principal) -> Import:
    """A stored preview (and whether it was committed), for its uploader or an admin only."""
    return _own(session, import_id, principal)
