#!/usr/bin/env python3
"""Downloads one group of artifacts: verified, cached, in parallel, all or nothing.

    fetch.py --spec FILE|- --dest DIR --cache DIR [--mirror URL] [--jobs N]
    fetch.py --remove --dest DIR

The spec (JSON) is {"group": NAME, "artifacts": [ARTIFACT, ...]}; an artifact is
    {"name": .., "url": .., "dest": path inside DIR,
     "unpack": "file" | "zip" | "tar.gz", "keep": inner folder of the archive (optional),
     "sha256": pinned digest (optional), "sha1_sidecar": true to check URL.sha1 (optional)}

Verification, strongest first: the pinned SHA-256; else the `.sha1` that Maven
repositories serve beside each file; else trust on first use: the SHA-256 seen first is
recorded in CACHE/lock.json and every later download must match it.

Downloads go to CACHE/blobs/<sha256> (temp file, verified, then renamed), so a second run
touches no network; a cached file is checked against its name before it is used, and
fetched again when it is damaged. DIR is assembled in a temp folder beside it and renamed
into place only when complete: it holds every artifact or does not exist. Its folders
are 0755 and its files 0644, whatever the umask. DIR/.manifest.json lists every file it
holds, with its size and SHA-256: whenever the folder is used again (a second run, the
build of an image that carries it), every file is checked against that list, and a
folder with a file missing, changed or added is laid out again (from the cache, else
fetched) before it is used. With --mirror, https://HOST/PATH is fetched from
MIRROR/HOST/PATH. Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import shutil
import socket
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported
from modes import readable_by_all  # noqa: E402

try:
    import fcntl  # POSIX: lock.json is shared by groups that run at the same time
except ImportError:  # pragma: no cover
    fcntl = None

TIMEOUT = 30  # seconds without a byte before a request is given up
RETRIES = 4  # further tries after a network error or a 5xx answer
BACKOFF = 0.5  # seconds before the first retry; doubles each time
CHUNK = 1 << 20


class FetchError(Exception):
    """A failure that names the artifact, the URL and the reason."""


class Retryable(Exception):
    pass


@dataclass(frozen=True)
class Artifact:
    name: str
    url: str
    dest: str
    unpack: str = "file"
    keep: str = ""
    sha256: str = ""
    sha1_sidecar: bool = False

    @classmethod
    def parse(cls, raw: dict) -> "Artifact":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(raw) - known
        if unknown:
            raise FetchError(f"{raw.get('name', '?')}: unknown fields {sorted(unknown)}")
        artifact = cls(**raw)
        if artifact.unpack not in ("file", "zip", "tar.gz"):
            raise FetchError(f"{artifact.name}: unpack must be file, zip or tar.gz, not {artifact.unpack!r}")
        dest = Path(artifact.dest)
        if dest.is_absolute() or ".." in dest.parts or not dest.parts:
            raise FetchError(f"{artifact.name}: dest {artifact.dest!r} must be a relative path inside the folder")
        return artifact


def mirrored(url: str, mirror: str) -> str:
    """https://HOST/PATH -> MIRROR/HOST/PATH when a mirror is set."""
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    rest = parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{mirror.rstrip('/')}/{rest}"


def human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


class Lock:
    """CACHE/lock.json: URL -> SHA-256 first seen (trust on first use) or verified."""

    def __init__(self, cache: Path):
        self.path = cache / "lock.json"
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def _exclusive(self):
        with self._guard, open(self.path.with_suffix(".lck"), "a+") as handle:
            if fcntl:
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as error:
            raise FetchError(f"{self.path} is damaged ({error}); fix or delete it") from error

    def record(self, url: str, digest: str) -> None:
        with self._exclusive():
            entries = self.read()
            if entries.get(url) == digest:
                return
            entries[url] = digest
            tmp = self.path.with_name(f".lock.{os.getpid()}.{threading.get_ident()}")
            tmp.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
            os.replace(tmp, self.path)


class Fetcher:
    def __init__(self, cache: Path, mirror: str = "", log=print):
        self.blobs = cache / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.mirror = mirror
        self.lock = Lock(cache)
        self.log = log

    # -- network --------------------------------------------------------------------
    def _get(self, url: str, sink) -> None:
        """One GET into sink(chunk); Retryable on network errors and 5xx, FetchError on
        any other HTTP error and on a body shorter than announced."""
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "factorhouse-local-fetch"}),
                                        timeout=TIMEOUT) as response:
                expected = response.headers.get("Content-Length")
                received = 0
                while chunk := response.read(CHUNK):
                    received += len(chunk)
                    sink(chunk)
                if expected is not None and received != int(expected):
                    raise Retryable(f"connection closed after {received} of {expected} bytes")
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise Retryable(f"HTTP {error.code} {error.reason}") from error
            raise FetchError(f"HTTP {error.code} {error.reason}") from error
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError, TimeoutError) as error:
            reason = getattr(error, "reason", None) or error
            raise Retryable(f"{type(error).__name__}: {reason}") from error

    def _with_retries(self, url: str, attempt):
        delay = BACKOFF
        for tries in range(RETRIES + 1):
            try:
                return attempt()
            except Retryable as error:
                if tries == RETRIES:
                    raise FetchError(f"{error} (gave up after {RETRIES + 1} tries)") from error
                time.sleep(delay)
                delay *= 2

    def _download(self, url: str) -> tuple[Path, str, int]:
        """Download url to a temp file in the cache; return it with its SHA-256 and size."""
        def attempt():
            handle = tempfile.NamedTemporaryFile(dir=self.blobs, prefix=".partial-", delete=False)
            digest = hashlib.sha256()
            try:
                with handle:
                    def sink(chunk):
                        digest.update(chunk)
                        handle.write(chunk)
                    self._get(url, sink)
            except BaseException:
                os.unlink(handle.name)
                raise
            return Path(handle.name), digest.hexdigest(), os.path.getsize(handle.name)
        return self._with_retries(url, attempt)

    def _sidecar_sha1(self, url: str) -> str:
        body = bytearray()
        self._with_retries(url, lambda: (body.clear(), self._get(url, body.extend)))
        text = body.decode("ascii", "replace").split()
        if not text or len(text[0]) != 40:
            raise FetchError(f"{url} is not a SHA-1 file")
        return text[0].lower()

    # -- one artifact ---------------------------------------------------------------
    def blob(self, artifact: Artifact) -> tuple[Path, str]:
        """The verified cached file of an artifact, downloading it when missing or
        damaged; returns the file and a line that says where it came from and how it
        was checked."""
        started = time.monotonic()
        known = artifact.sha256 or self.lock.read().get(artifact.url, "")
        if known and (self.blobs / known).is_file():
            path = self.blobs / known
            if sha256_of(path) == known:
                return path, f"{human(path.stat().st_size):>10}  from cache in {time.monotonic() - started:.1f}s"
            self.log(f"{artifact.name}: the cached copy {path} is damaged; fetching it again")
            path.unlink()
        url = mirrored(artifact.url, self.mirror)
        try:
            tmp, digest, size = self._download(url)
            try:
                if artifact.sha256:
                    how = "pinned sha256"
                    if digest != artifact.sha256:
                        raise FetchError(f"sha256 is {digest}, the manifest pins {artifact.sha256}")
                elif artifact.sha1_sidecar:
                    how = "sha1 from the repository"
                    expected = self._sidecar_sha1(url + ".sha1")
                    actual = hashlib.sha1(tmp.read_bytes()).hexdigest()
                    if actual != expected:
                        raise FetchError(f"sha1 is {actual}, {url}.sha1 says {expected}")
                elif known:
                    how = "sha256 recorded on first use"
                    if digest != known:
                        raise FetchError(f"sha256 is {digest}, but {self.lock.path} recorded {known} on first use")
                else:
                    how = "trusted on first use, sha256 recorded"
                os.replace(tmp, self.blobs / digest)
            finally:
                if tmp.exists():
                    tmp.unlink()
        except FetchError as error:
            raise FetchError(f"{artifact.name}: {url}: {error}") from error
        self.lock.record(artifact.url, digest)
        seconds = time.monotonic() - started
        return self.blobs / digest, f"{human(size):>10}  downloaded in {seconds:.1f}s ({how})"

    # -- a whole group --------------------------------------------------------------
    def group(self, name: str, artifacts: list[Artifact], dest: Path, jobs: int = 8) -> None:
        """Lay out DIR, or check the one there file by file and lay it out again when it
        is not exactly what its manifest lists."""
        started = time.monotonic()
        if dest.is_dir():
            problem = check_folder(dest)
            if problem is None:
                self.log(f"[{name}] {dest} is up to date ({len(artifacts)} artifacts, every file checked)")
                return
            self.log(f"[{name}] {problem}: laying the folder out again")
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(self.blob, a) for a in artifacts]
            errors, blobs = [], []
            for artifact, future in zip(artifacts, futures, strict=True):
                try:
                    blob, line = future.result()
                    blobs.append(blob)
                    self.log(f"[{name}] {artifact.name:<28}{line}")
                except FetchError as error:
                    errors.append(str(error))
        if errors:
            raise FetchError("; ".join(errors))
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.partial-"))
        try:
            for artifact, blob in zip(artifacts, blobs, strict=True):
                place(artifact, blob, staging)
            files = {path: {"size": size, "sha256": digest} for path, size, digest in list_files(staging)}
            (staging / MANIFEST).write_text(json.dumps({
                "artifacts": {a.name: {"url": a.url, "sha256": b.name} for a, b in zip(artifacts, blobs, strict=True)},
                "files": files}, indent=2, sort_keys=True) + "\n")
            readable_by_all(staging)
            replace_folder(staging, dest)
        except OSError as error:
            raise FetchError(f"[{name}] could not lay out {dest}: {error}") from error
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        size = sum(b.stat().st_size for b in blobs)
        self.log(f"[{name}] {len(artifacts)} artifacts ({human(size)}) ready in {time.monotonic() - started:.1f}s: {dest}")


MANIFEST = ".manifest.json"  # in a laid-out folder: its artifacts and every file it holds


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def list_files(root: Path) -> list[tuple[str, int, str]]:
    """(relative path, size, SHA-256) of every file under root but the manifest, in order."""
    out = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
        relative = path.relative_to(root).as_posix()
        if relative != MANIFEST:
            out.append((relative, path.stat().st_size if path.is_file() else -1,
                        sha256_of(path) if path.is_file() else ""))
    return out


def check_folder(dest: Path) -> str | None:
    """None when DIR holds exactly the files its manifest lists, each of its size and
    SHA-256; else what is wrong (the first file found), in words."""
    try:
        listed = json.loads((dest / MANIFEST).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{dest} has no list of its files"
    found = {path: (size, digest) for path, size, digest in list_files(dest)}
    for path, entry in sorted(listed.items()):
        if path not in found:
            return f"{path} is missing from {dest}"
        if found[path] != (entry["size"], entry["sha256"]):
            return f"{path} in {dest} is not the file that was downloaded (size or SHA-256 differs)"
    extra = sorted(set(found) - set(listed))
    if extra:
        return f"{extra[0]} in {dest} is not a downloaded file"
    return None


def replace_folder(new: Path, dest: Path) -> None:
    """Put folder `new` at `dest`, which may exist: renamed aside first, removed after."""
    if not dest.exists():
        os.rename(new, dest)
        return
    old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.old-"))
    os.rename(dest, old / "folder")
    os.rename(new, dest)
    shutil.rmtree(old, ignore_errors=True)


def _safe_members(names: list[str], artifact: Artifact) -> None:
    for member in names:
        parts = Path(member).parts
        if Path(member).is_absolute() or ".." in parts:
            raise FetchError(f"{artifact.name}: archive member {member!r} would land outside the folder")


def place(artifact: Artifact, blob: Path, root: Path) -> None:
    """Lay out one verified artifact at root/dest."""
    target = root / artifact.dest
    target.parent.mkdir(parents=True, exist_ok=True)
    if artifact.unpack == "file":
        shutil.copyfile(blob, target)
        return
    with tempfile.TemporaryDirectory(dir=root, prefix=".unpack-") as tmp:
        try:
            if artifact.unpack == "zip":
                with zipfile.ZipFile(blob) as archive:
                    _safe_members(archive.namelist(), artifact)
                    archive.extractall(tmp)
            else:
                with tarfile.open(blob, "r:gz") as archive:
                    _safe_members(archive.getnames(), artifact)
                    for member in archive.getmembers():
                        if member.issym() or member.islnk():
                            raise FetchError(f"{artifact.name}: archive member {member.name!r} is a link")
                    archive.extractall(tmp)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
            raise FetchError(f"{artifact.name}: {artifact.url}: not a valid {artifact.unpack} archive ({error})") from error
        inner = Path(tmp) / artifact.keep
        if not inner.is_dir():
            raise FetchError(f"{artifact.name}: {artifact.url}: the archive has no folder {artifact.keep!r}")
        shutil.copytree(inner, target)


def lay_out(spec: dict, dest: Path, cache: Path, mirror: str = "", jobs: int = 8, log=print) -> None:
    """Lay out (or check, and lay out again) the folder of one group spec; FetchError
    names the artifact or file and the reason."""
    try:
        artifacts = [Artifact.parse(a) for a in spec["artifacts"]]
        group = spec["group"]
    except (KeyError, TypeError) as error:
        raise FetchError(f"not a group spec ({type(error).__name__}: {error})") from error
    Fetcher(cache, mirror, log=log).group(group, artifacts, dest, jobs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", help="the group's JSON spec, a file or - for standard input")
    parser.add_argument("--dest", required=True, type=Path)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--mirror", default="")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--remove", action="store_true", help="remove DEST (the cache is kept)")
    args = parser.parse_args(argv)

    if args.remove:
        if args.dest.exists():
            shutil.rmtree(args.dest)
            print(f"removed {args.dest} (the download cache is kept)")
        return 0
    if not args.spec or not args.cache:
        parser.error("--spec and --cache are needed to download")
    try:
        raw = json.load(sys.stdin) if args.spec == "-" else json.loads(Path(args.spec).read_text())
        lay_out(raw, args.dest, args.cache, args.mirror, args.jobs, log=lambda line: print(line, flush=True))
    except FetchError as error:
        print(f"fetch failed: {error}", file=sys.stderr)
        return 1
    except (OSError, KeyError, ValueError) as error:
        print(f"fetch failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
