"""Files under /static with a content hash in their URL, so browsers may keep them for a year.

`/static/<hash>/map.js` and `/static/leaflet/<hash>/leaflet.css` are cached as `immutable`; the
plain `/static/map.js` keeps working, revalidated on every use (`no-cache`, ETag → 304). The hash
sits in a directory segment, not in the file name, so relative references inside a stylesheet
(Leaflet's `url(images/layers.png)`) resolve under the same hash. A vendor package's hash covers
its whole folder (its files refer to each other); each of our own files has its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2.runtime import Context
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

HASH_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def _digest(files: list[Path], root: Path) -> str:
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.relative_to(root).as_posix().encode() + b"\0")
        sha.update(path.read_bytes())
    return sha.hexdigest()[:HASH_LENGTH]


def _is_hash(segment: str) -> bool:
    return len(segment) == HASH_LENGTH and all(c in "0123456789abcdef" for c in segment)


@dataclass(frozen=True)
class Bundle:
    """One folder served under one URL prefix, with the hash of every file in it."""

    prefix: str  # "" for our own files, "leaflet" for /static/leaflet/…
    directory: Path
    hashes: dict[str, str]  # file path inside the folder → the hash its URL carries

    @classmethod
    def scan(cls, prefix: str, directory: Path, *, one_hash: bool) -> Bundle:
        """Hash the folder once; `one_hash`: one hash for all files (they refer to each other)."""
        files = sorted(p for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else []
        names = [p.relative_to(directory).as_posix() for p in files]
        if one_hash:
            shared = _digest(files, directory)
            return cls(prefix, directory, dict.fromkeys(names, shared))
        each = {name: _digest([p], directory) for name, p in zip(names, files, strict=True)}
        return cls(prefix, directory, each)

    def url(self, name: str) -> str:
        """`leaflet.css` → `/static/leaflet/<hash>/leaflet.css`."""
        if name not in self.hashes:
            raise LookupError(f"no file {name!r} under {self.directory} to serve under /static")
        base = f"/static/{self.prefix}/" if self.prefix else "/static/"
        return f"{base}{self.hashes[name]}/{name}"

    def resolve(self, path: str) -> tuple[str, bool]:
        """A requested path without its hash, and whether the hash is the file's current one."""
        segment, _, rest = path.partition("/")
        if rest and _is_hash(segment):
            return rest, self.hashes.get(rest) == segment
        return path, False


class HashedStaticFiles(StaticFiles):
    """StaticFiles that accepts a hash segment: current hash → a year, otherwise revalidate."""

    def __init__(self, bundle: Bundle) -> None:
        super().__init__(directory=bundle.directory, check_dir=False)
        self.bundle = bundle

    async def get_response(self, path: str, scope: Scope) -> Response:
        plain, current = self.bundle.resolve(path)
        response = await super().get_response(plain, scope)
        # An outdated hash (a page from before a deploy) still gets the file, but not for a year.
        response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
        return response


@dataclass(frozen=True)
class Assets:
    """Every folder served under /static; `url("leaflet/leaflet.js")` names a file in one."""

    bundles: tuple[Bundle, ...]

    @classmethod
    def scan(cls, own: Path, packages: dict[str, Path]) -> Assets:
        """Our own folder (a hash per file) and the npm packages (a hash per package)."""
        vendor = [Bundle.scan(prefix, path, one_hash=True) for prefix, path in packages.items()]
        return cls((*vendor, Bundle.scan("", own, one_hash=False)))

    def _split(self, name: str) -> tuple[Bundle, str]:
        for bundle in self.bundles:
            if bundle.prefix and name.startswith(bundle.prefix + "/"):
                return bundle, name.removeprefix(bundle.prefix + "/")
        return self.bundles[-1], name

    def url(self, name: str) -> str:
        """The content-hashed URL of a file, e.g. `map.js` → `/static/3f2a9c1e07b4/map.js`."""
        bundle, inner = self._split(name)
        return bundle.url(inner)

    def links(self, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """(name, hashed URL) pairs: hashable, for options that key a cache or an ETag."""
        return tuple((name, self.url(name)) for name in names)

    def path(self, name: str) -> Path:
        """The file behind a name, for pages that inline their assets."""
        bundle, inner = self._split(name)
        return bundle.directory / inner

    def mounts(self) -> list[tuple[str, str, HashedStaticFiles]]:
        """(URL prefix, route name, app) per folder, the packages before our own `/static`."""
        return [
            (f"/static/{b.prefix}", b.prefix, HashedStaticFiles(b))
            if b.prefix
            else ("/static", "static", HashedStaticFiles(b))
            for b in self.bundles
        ]


@jinja2.pass_context
def asset_url(context: Context, name: str) -> str:
    """Jinja2 global: `{{ asset_url('workspace.css') }}`, from the app that renders the page."""
    assets: Assets = context["request"].app.state.assets
    return assets.url(name)
