"""Static files, small and cached: content-hashed names, precompressed ``.br``/``.gz``, served by
WhiteNoise before Flask sees the request; and pages with ETags, so a revisit can be a 304.

Names. At start-up the app hashes every file of ``static/`` (about 1.1 MB: milliseconds) and
``url_for('static', filename='css/app.css')`` answers ``/static/css/app.<sha256[:12]>.css``. A
hashed name is sent ``Cache-Control: public, max-age=31536000, immutable`` — its content can never
change under that name. The plain name keeps working for anything that still asks for it, sent
``no-cache`` (revalidated with its ETag: a 304 when unchanged).

Compression is done once, at install time, by ``wzcheckin assets build`` (scripts/demo,
scripts/test and the README's deployment run it): the hashed copies with their ``.br`` and ``.gz``
siblings go to ``WZCHECKIN_STATIC_BUILD_DIR`` (default ``<instance>/static``), then a
``manifest.json``. WhiteNoise chooses the sibling by ``Accept-Encoding``. Why a build step rather
than compressing at start-up: Brotli at its best level takes seconds on the larger scripts,
and every gunicorn worker (and every test app) would pay it, or race for it; an install step pays
once and may run where the app's own folder is read-only. The build is content-addressed: files
of earlier builds stay, so a page cached before a deploy still finds its scripts, and building
again only compresses what changed.

When there is no build, or it was made from other files than the ones shipped (the manifest does
not match), the app still serves the hashed names — from ``static/`` itself, uncompressed — and
logs once that ``wzcheckin assets build`` should be run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from wsgiref.headers import Headers

import click
from flask import Flask, Response, request
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

from wzcheckin.core.logs import sane_request_id
from wzcheckin.core.security import BASE_CSP

log = logging.getLogger("wzcheckin.assets")

STATIC_URL = "/static/"  # the app's static_url_path; core.security.STATIC_PREFIX says the same
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
HASH_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_warned: set[str] = set()


@dataclass(frozen=True)
class Assets:
    """What the app serves: ``names`` maps each file of ``static/`` to its hashed name; ``root`` is
    where the hashed files are read (the build folder, or ``static/`` itself when unbuilt)."""

    source: Path
    root: Path
    built: bool
    names: dict[str, str] = field(hash=False)
    digests: dict[str, str] = field(hash=False)

    def path_of(self, name: str) -> Path:
        """The file served for ``name`` (a plain name of ``static/``)."""
        return self.root / self.names[name] if self.built else self.source / name


def hashed_name(name: str, digest: str) -> str:
    """``css/app.css`` → ``css/app.<digest[:12]>.css`` (``LICENSE`` → ``LICENSE.<digest[:12]>``)."""
    path = PurePosixPath(name)
    stem, suffix = (path.stem, path.suffix) if path.suffix else (path.name, "")
    return str(path.with_name(f"{stem}.{digest[:HASH_LENGTH]}{suffix}"))


def _source_files(source: Path) -> list[Path]:
    return sorted(path for path in source.rglob("*")
                  if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith((".pyc", ".pyo")))


@lru_cache(maxsize=8)
def _digests(source: str, stats: tuple) -> dict[str, str]:
    # Keyed on every file's (name, size, mtime): a changed file is hashed again, an app built
    # again in the same process (tests) hashes nothing.
    root = Path(source)
    return {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name, _size, _mtime in stats}


def source_digests(source: Path) -> dict[str, str]:
    """sha256 of every file of ``static/``, by its plain name (posix separators)."""
    stats = tuple((path.relative_to(source).as_posix(), *_stat(path)) for path in _source_files(source))
    return _digests(str(source), stats)


def _stat(path: Path) -> tuple[int, int]:
    result = path.stat()
    return result.st_size, result.st_mtime_ns


def read_manifest(build_dir: Path) -> dict | None:
    try:
        manifest = json.loads((build_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION:
        return None
    return manifest


def load_assets(source: Path, build_dir: Path) -> Assets:
    digests = source_digests(source)
    names = {name: hashed_name(name, digest) for name, digest in digests.items()}
    manifest = read_manifest(build_dir)
    built = bool(manifest) and manifest.get("files") == names and all(
        (build_dir / hashed).is_file() for hashed in names.values())
    return Assets(source=source, root=build_dir if built else source, built=built, names=names, digests=digests)


def _write_atomically(path: Path, data: bytes, mtime: float | None = None) -> None:
    """Write beside the target, then rename: a server starting meanwhile (or a second build at
    the same time) sees the old file or the whole new one, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)  # public files (mkstemp makes them 0600); a front server may read them
        if mtime is not None:
            os.utime(temporary, (mtime, mtime))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build_assets(source: Path, build_dir: Path) -> dict:
    """Copy every file of ``static/`` to ``build_dir`` under its hashed name, with ``.br`` and
    ``.gz`` siblings where they save at least 5 % (WhiteNoise's compressor: Brotli at its best
    level, gzip level 9 without a timestamp, so both are reproducible), then the manifest last.
    Files already there are kept (same name, same content), so a rebuild compresses only what
    changed. Returns a summary for the command line."""
    compressor = Compressor(quiet=True)
    digests = source_digests(source)
    names = {name: hashed_name(name, digest) for name, digest in digests.items()}
    written = compressed = 0
    sizes = {"files": 0, "br": 0, "gz": 0}
    for name, hashed in names.items():
        original = source / name
        target = build_dir / hashed
        data = original.read_bytes()
        mtime = original.stat().st_mtime
        if not target.is_file() or target.stat().st_size != len(data):
            _write_atomically(target, data, mtime)
            written += 1
        sizes["files"] += len(data)
        if not compressor.should_compress(name):
            continue
        for suffix, encode, use in ((".br", compressor.compress_brotli, compressor.use_brotli),
                                    (".gz", compressor.compress_gzip, compressor.use_gzip)):
            if not use:
                continue
            sibling = Path(f"{target}{suffix}")
            if sibling.is_file():
                sizes[suffix[1:]] += sibling.stat().st_size
                continue
            packed = encode(data)
            if data and len(packed) / len(data) <= 0.95:
                _write_atomically(sibling, packed, mtime)
                sizes[suffix[1:]] += len(packed)
                compressed += 1
    manifest = {"version": MANIFEST_VERSION, "files": names}
    _write_atomically(build_dir / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True).encode())
    return {"build_dir": str(build_dir), "files": len(names), "written": written, "compressed": compressed,
            "bytes": sizes}


def _static_security_headers() -> list[tuple[str, str]]:
    """What ``core.security`` puts on every Flask answer, for the files WhiteNoise answers
    before Flask runs (fixed per file; HSTS and the request id are added per request)."""
    csp = "; ".join(f"{name} {value}" for name, value in BASE_CSP.items())
    return [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()"),
    ]


class StaticFiles(WhiteNoise):
    """WhiteNoise, plus the two headers that depend on the request: the request id every answer
    carries (core.logs) and HSTS over HTTPS (core.security)."""

    def serve(self, static_file, environ, start_response):  # WhiteNoise.serve, per request

        request_id = sane_request_id(environ.get("HTTP_X_REQUEST_ID")) or uuid.uuid4().hex

        def start(status, headers, exc_info=None):
            headers = [*headers, ("X-Request-ID", request_id)]
            if environ.get("wsgi.url_scheme") == "https":
                headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return WhiteNoise.serve(static_file, environ, start)


def init_static_files(app: Flask) -> None:
    """Serve ``static/`` through WhiteNoise under hashed names (see the module's docstring)."""
    source = Path(app.static_folder)
    build_dir = Path(app.config["STATIC_BUILD_DIR"])
    assets = load_assets(source, build_dir)
    if not assets.built and str(build_dir) not in _warned:
        _warned.add(str(build_dir))  # once per process, not once per app
        log.warning("static files are not built for this version (%s): serving them uncompressed; "
                    "run `wzcheckin assets build`", build_dir)
    plain_urls = {STATIC_URL + name for name in assets.names}
    # A content ETag (WhiteNoise's own is mtime-size): the same file has the same ETag on every
    # host and after every deploy.
    etags = {}
    for name, hashed in assets.names.items():
        etags[STATIC_URL + name] = etags[STATIC_URL + hashed] = f'"{assets.digests[name][:32]}"'
    security_headers = _static_security_headers()

    def add_headers(headers: Headers, path: str, url: str) -> None:
        for name, value in security_headers:
            headers[name] = value
        # Every other name served is a hashed one: this build's, or an earlier build's.
        headers["Cache-Control"] = REVALIDATE if url in plain_urls else IMMUTABLE
        if url in etags:
            headers["ETag"] = etags[url]

    server = StaticFiles(app.wsgi_app, max_age=None, allow_all_origins=False, add_headers_function=add_headers)
    if assets.built:
        # Every hashed file in the folder, this build's and earlier ones' (pages cached before a
        # deploy still load), then each plain name onto this build's file.
        server.add_files(str(build_dir), prefix=STATIC_URL)
        server.files.pop(STATIC_URL + MANIFEST_NAME, None)
    for name, hashed in assets.names.items():
        path = str(assets.path_of(name))
        server.add_file_to_dictionary(STATIC_URL + hashed, path)
        server.add_file_to_dictionary(STATIC_URL + name, path)
    app.wsgi_app = server
    app.extensions["wzcheckin.assets"] = assets

    @app.url_defaults
    def _hashed_static_names(endpoint: str, values: dict) -> None:
        if endpoint == "static":
            hashed = assets.names.get(values.get("filename"))
            if hashed is not None:
                values["filename"] = hashed


def init_page_etags(app: Flask) -> None:
    """Pages carry an ETag and answer a matching ``If-None-Match`` with 304. Registered after
    Flask-Compress, so it runs before it: Compress then marks the ETag with its encoding and
    answers the conditional request for the compressed body. A page of nobody's data is sent
    ``no-cache`` (kept, revalidated); a page of someone's stays ``no-store`` (core.security)."""

    @app.after_request
    def _page_etag(response: Response) -> Response:
        if (request.method not in ("GET", "HEAD") or response.status_code != 200 or response.is_streamed
                or response.direct_passthrough or response.mimetype != "text/html"):
            return response
        response.headers.setdefault("Cache-Control", REVALIDATE)
        response.add_etag()
        return response.make_conditional(request)


@click.group("assets", help="Static files: hashed names and precompressed copies.")
def assets_group() -> None:
    pass


@assets_group.command("build")
@click.option("--to", "build_dir", default=None, help="Where to write (default: WZCHECKIN_STATIC_BUILD_DIR, "
              "or <instance>/static).")
def assets_build_command(build_dir: str | None) -> None:
    """Write every static file under its content-hashed name, with .br and .gz beside it, and
    the manifest the app reads at start-up. Run it at install time, after each upgrade."""
    from flask import current_app

    target = Path(build_dir or current_app.config["STATIC_BUILD_DIR"])
    summary = build_assets(Path(current_app.static_folder), target)
    click.echo(json.dumps(summary))
