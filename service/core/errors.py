"""Domain errors: raised below the API, mapped to HTTP statuses once, in `api.problems`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one feature, precise enough for a user to fix it."""

    layer: str
    feature: str | None
    field: str | None
    message: str
    location: tuple[float, float] | None = None
    """Where a geometry fails, as [lon, lat] in EPSG:4326, so a map can mark the place."""

    def __str__(self) -> str:
        where = self.layer
        if self.feature is not None:
            where += f", feature {self.feature}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class DomainError(Exception):
    """Base class of errors a user can act on."""


class ConfigurationError(DomainError):
    """The service cannot run with the given configuration."""


class DatabaseUnavailableError(DomainError):
    """The database cannot be reached or is not migrated."""


class NotFoundError(DomainError):
    """A requested feature, collection or file does not exist."""


class InvalidDataError(DomainError):
    """Input data broke one or more rules; nothing was written."""

    def __init__(self, problems: list[Problem], summary: str = "invalid data") -> None:
        self.problems = problems
        self.summary = summary
        super().__init__(self.describe())

    def describe(self, limit: int = 20) -> str:
        """Summarise the problems, listing at most `limit` of them."""
        lines = [f"{self.summary} ({len(self.problems)} problem(s)):"]
        lines += [f"  - {problem}" for problem in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  … and {len(self.problems) - limit} more")
        return "\n".join(lines)


class ProvisioningError(DomainError):
    """The local PostGIS could not be brought up."""


class BadRequestError(InvalidDataError):
    """The request itself is malformed: a query parameter, a filter, a header or the JSON."""

    @classmethod
    def about(cls, field: str, message: str, layer: str = "request") -> BadRequestError:
        """The usual case: one problem with one parameter or field."""
        return cls([Problem(layer, None, field, message)], f"invalid {field}")


class PayloadTooLargeError(InvalidDataError):
    """The body is over the configured size limit; refused before it is read whole."""


class ConflictError(InvalidDataError):
    """The change would clash with data already stored (e.g. a name that is taken)."""


class AuthenticationError(DomainError):
    """No valid bearer token was given for a write."""


class PermissionDeniedError(DomainError):
    """The token is valid but its role may not do this."""


class PreconditionRequiredError(DomainError):
    """A write without If-Match could overwrite someone else's edit, so it is refused."""


class PreconditionFailedError(DomainError):
    """The If-Match ETag is stale: the feature changed since the client read it."""


class MethodNotAllowedError(DomainError):
    """The resource exists but cannot be changed this way."""

    def __init__(self, message: str, allowed: tuple[str, ...] = ("GET",)) -> None:
        super().__init__(message)
        self.allowed = allowed


class UnsupportedMediaTypeError(DomainError):
    """The body is declared as something this operation does not read."""


class TooManyRequestsError(DomainError):
    """A client address used up a rate limit; it may try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
