#!/usr/bin/env python3
"""Builds a Docker image under a tag named by its content, unless the engine has it.

    build_image.py build --context DIR --tag REPO:TAG [--build-arg K=V]... [--add SRC=DEST]...
                         [--downloads FILE|-] [--platform OS/ARCH] [--push]
    build_image.py remove REPO:TAG

The engine is the one DOCKER_HOST names (local or remote), else the local socket, as the
Docker provider reaches it (scripts/dockerenv.py).

`build` does nothing when the engine already has TAG (the caller names the tag by
everything the image is made from, so an unchanged image is never built or sent again).
Otherwise it first checks every downloaded folder it is given (--downloads: a JSON list
of {"dest": SRC, "spec": the group's spec, "cache": CACHE, "mirror": MIRROR}, as
fetch.py takes them) file by file against the folder's manifest, laying out again one
with a file missing or changed (from the cache, else fetched), so that an image never
lacks a file its download lists. Then it assembles the context (DIR plus each SRC
copied to DEST inside it), makes
every folder 0755 and every file 0644 (0755 when executable), so that any user an image
runs as can read what it was given whatever the umask, and builds it with --force-rm,
so that a failed build leaves no container behind. With --push, it then pushes TAG to
the registry TAG names (a Kubernetes cluster pulls it from there); the registry is sent
only the layers it lacks. It prints the image id, and nothing else, on stdout (Pulumi feeds it to the containers); progress and docker's own output go
to stderr; a failed build exits non-zero with docker's error.
`remove` untags REPO:TAG (never an image a container still uses); a missing tag is fine.
Standard library only: the Pulumi command resource runs it with any python3.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported
import fetch  # noqa: E402
from dockerenv import docker_env  # noqa: E402
from modes import readable_by_all  # noqa: E402


def log(message: str) -> None:
    print(f"build_image: {message}", file=sys.stderr, flush=True)


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], text=True, capture_output=True, env=docker_env())


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


def stage(context: Path, adds: list[tuple[str, str]], into: Path) -> Path:
    """The build context: a copy of DIR with each SRC at DEST, readable by all."""
    staged = into / "context"
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
    readable_by_all(staged)
    return staged


def check_downloads(downloads: list[dict]) -> None:
    """Every downloaded folder exactly as its manifest lists it, laid out again if not."""
    for entry in downloads:
        try:
            fetch.lay_out(entry["spec"], Path(entry["dest"]), Path(entry["cache"]), entry.get("mirror", ""),
                          log=lambda line: print(f"build_image: {line}", file=sys.stderr, flush=True))
        except fetch.FetchError as error:
            raise SystemExit(f"build_image: {entry['dest']} cannot be laid out again ({error}); nothing was built. "
                             "Check the network or the downloadMirror setting, then run `make up` again")
        except (KeyError, TypeError) as error:
            raise SystemExit(f"build_image: --downloads: not a list of downloads ({type(error).__name__}: {error})")


def build(context: Path, tag: str, build_args: dict[str, str], adds: list[tuple[str, str]],
          downloads: list[dict] = (), platform: str = "") -> str:
    existing = image_id(tag)
    if existing:
        log(f"{tag} is on the engine already")
        return existing
    if not (context / "Dockerfile").is_file():
        raise SystemExit(f"build_image: no Dockerfile in {context}")
    check_downloads(downloads)
    with tempfile.TemporaryDirectory(prefix="build-context-") as tmp:
        staged = stage(context, adds, Path(tmp))
        log(f"building {tag}")
        command = ["build", "--force-rm", "--tag", tag, "--label", f"dev.factorhouse.local.image={tag}"]
        if platform:
            command += ["--platform", platform]
        for key, value in sorted(build_args.items()):
            command += ["--build-arg", f"{key}={value}"]
        # docker's progress goes to our stderr; stdout stays for the image id
        result = subprocess.run(["docker", *command, str(staged)], stdout=sys.stderr, stderr=sys.stderr,
                                env=docker_env())
        if result.returncode != 0:
            raise SystemExit(f"build_image: docker build of {tag} failed (exit {result.returncode}); see its output above")
    built = image_id(tag)
    if not built:
        raise SystemExit(f"build_image: {tag} was built but cannot be found")
    log(f"built {tag}")
    return built


def push(tag: str) -> None:
    """Push TAG to its registry (docker sends only the layers the registry lacks)."""
    log(f"pushing {tag}")
    result = subprocess.run(["docker", "push", tag], stdout=sys.stderr, stderr=sys.stderr, env=docker_env())
    if result.returncode != 0:
        registry = tag.split("/", 1)[0]
        raise SystemExit(f"build_image: docker push of {tag} failed (exit {result.returncode}); see its output above. "
                         f"Is the registry {registry} running, and are you logged in (`docker login {registry}`)?")
    log(f"pushed {tag}")


def remove(tag: str) -> None:
    result = docker("image", "rm", tag)
    if result.returncode == 0:
        log(f"removed {tag}")
    elif "No such image" in result.stderr:
        log(f"{tag} is gone already")
    else:
        log(f"kept {tag}: {result.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build")
    b.add_argument("--context", required=True, type=Path)
    b.add_argument("--tag", required=True)
    b.add_argument("--build-arg", action="append", default=[])
    b.add_argument("--add", action="append", default=[])
    b.add_argument("--downloads", help="downloaded folders to check first: a JSON file, or - for standard input")
    b.add_argument("--platform", default="", help="the platform to build for (docker build --platform)")
    b.add_argument("--push", action="store_true")
    r = sub.add_parser("remove")
    r.add_argument("tag")
    args = parser.parse_args(argv)
    if shutil.which("docker") is None:
        raise SystemExit("build_image: the docker command is not on PATH")
    if args.action == "build":
        downloads = []
        if args.downloads:
            text = sys.stdin.read() if args.downloads == "-" else Path(args.downloads).read_text()
            downloads = json.loads(text)["downloads"]
        image = build(args.context.resolve(), args.tag, dict(pairs(args.build_arg, "--build-arg")),
                      pairs(args.add, "--add"), downloads, args.platform)
        if args.push:
            push(args.tag)
        print(image)
    else:
        remove(args.tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
