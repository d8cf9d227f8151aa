"""Entity tags of single features: what If-Match is checked against, for every writer."""

from __future__ import annotations

from service.core.errors import PreconditionFailedError
from service.features.writes import VersionCheck
from service.layers import Collection
from service.web.negotiation import etag, tags


def item_etag(
    collection: Collection, feature_id: int, version: int, representation: str = ""
) -> str:
    """Changes exactly when the stored feature does (a trigger bumps the row version).

    Each representation (another CRS, HTML) has its own tag, `"<version tag>-<representation>"`,
    so a cache never gets a 304 for coordinates in another CRS; If-Match accepts any of them.
    """
    tag = etag(("feature", collection.id, feature_id, version))
    return tag if not representation else f'{tag[:-1]}-{representation}"'


def version_check(header: str, collection: Collection, feature_id: int) -> VersionCheck:
    """If-Match holds when it names the stored version (any representation of it)."""

    def check(version: int) -> None:
        current_tag = item_etag(collection, feature_id, version)
        # Strong comparison (RFC 9110): weak tags never match; any representation's tag does.
        if not any(
            tag == current_tag or tag.startswith(current_tag[:-1] + "-") for tag in tags(header)
        ):
            raise PreconditionFailedError(
                f"{collection.id} #{feature_id} changed since you read it (now version "
                f"{version}); read it again and reapply your change"
            )

    return check
