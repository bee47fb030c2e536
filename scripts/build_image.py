#!/usr/bin/env python3
"""Builds a Docker image from a context folder, tagged by the content it was built from.

    build_image.py build --context DIR --repo REPO [--build-arg K=V]... [--add SRC=DEST]...
    build_image.py remove --repo REPO IMAGE_ID

`build` assembles the context (DIR plus each SRC copied to DEST inside it), hashes it
with the build arguments, and builds REPO:<hash> unless that tag already exists; it
prints the image id, and nothing else, on stdout (Pulumi feeds it to the containers).
Progress and docker's own output go to stderr; a failed build exits non-zero with
docker's error. `remove` removes the REPO tags of IMAGE_ID (never an image in use).
Standard library only: the Pulumi command resource runs it with any python3.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def log(message: str) -> None:
    print(f"build_image: {message}", file=sys.stderr, flush=True)


def tree_hash(root: Path, build_args: dict[str, str]) -> str:
    """SHA-256 of every file's relative path, mode and content under root, and of the
    build arguments, in a fixed order."""
    digest = hashlib.sha256()
    for key in sorted(build_args):
        digest.update(f"arg {key}={build_args[key]}\0".encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        digest.update(f"file {rel} {path.stat().st_mode & 0o111:o}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], text=True, capture_output=True)


def image_id(reference: str) -> str | None:
    result = docker("image", "inspect", "--format", "{{.Id}}", reference)
    return result.stdout.strip() if result.returncode == 0 else None


def pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"build_image: {what} {value!r} is not KEY=VALUE")
        out.append((key, rest))
    return out


def build(context: Path, repo: str, build_args: dict[str, str], adds: list[tuple[str, str]]) -> str:
    if not (context / "Dockerfile").is_file():
        raise SystemExit(f"build_image: no Dockerfile in {context}")
    with tempfile.TemporaryDirectory(prefix="build-context-") as tmp:
        staged = Path(tmp) / "context"
        shutil.copytree(context, staged)
        for source, dest in adds:
            src, target = Path(source), staged / dest
            if not src.exists():
                raise SystemExit(f"build_image: {source} does not exist (needed as {dest} in the context)")
            if src.is_dir():
                shutil.copytree(src, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)
        tag = f"{repo}:{tree_hash(staged, build_args)[:20]}"
        existing = image_id(tag)
        if existing:
            log(f"{tag} is up to date")
            return existing
        log(f"building {tag}")
        command = ["build", "--tag", tag, "--label", f"dev.factorhouse.local.context={tag}"]
        for key, value in sorted(build_args.items()):
            command += ["--build-arg", f"{key}={value}"]
        # docker's progress goes to our stderr; stdout stays for the image id
        result = subprocess.run(["docker", *command, str(staged)], stdout=sys.stderr, stderr=sys.stderr)
        if result.returncode != 0:
            raise SystemExit(f"build_image: docker build of {tag} failed (exit {result.returncode}); see its output above")
    built = image_id(tag)
    if not built:
        raise SystemExit(f"build_image: {tag} was built but cannot be found")
    log(f"built {tag}")
    return built


def remove(repo: str, image: str) -> None:
    result = docker("image", "inspect", "--format", "{{range .RepoTags}}{{println .}}{{end}}", image)
    if result.returncode != 0:
        log(f"{image} is gone already")
        return
    for tag in result.stdout.split():
        if tag.rsplit(":", 1)[0] == repo:
            untag = docker("image", "rm", tag)
            log(f"removed {tag}" if untag.returncode == 0 else f"kept {tag}: {untag.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build")
    b.add_argument("--context", required=True, type=Path)
    b.add_argument("--repo", required=True)
    b.add_argument("--build-arg", action="append", default=[])
    b.add_argument("--add", action="append", default=[])
    r = sub.add_parser("remove")
    r.add_argument("--repo", required=True)
    r.add_argument("image", nargs="?", default="")
    args = parser.parse_args(argv)
    if shutil.which("docker") is None:
        raise SystemExit("build_image: the docker command is not on PATH")
    if args.action == "build":
        print(build(args.context.resolve(), args.repo, dict(pairs(args.build_arg, "--build-arg")), pairs(args.add, "--add")))
    elif args.image:
        remove(args.repo, args.image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
