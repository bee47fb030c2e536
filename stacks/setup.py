"""Set-up steps as pulumi-command resources: the downloads of resources/downloads.yaml
and image builds. Each runs one of our scripts in scripts/ on `pulumi up` (never during
preview) and again only when what it is made from changes."""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_command as command
import yaml

from .service import Platform, content_hash
from .settings import PROJECT_DIR, RESOURCES

MANIFEST = RESOURCES / "downloads.yaml"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
PYTHON = "python3"  # the scripts need the standard library only


def maven_url(coordinates: str) -> str:
    group, artifact, version = coordinates.split(":")
    return f"{MAVEN_CENTRAL}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"


def manifest_group(group: str) -> list[dict]:
    """A group's artifacts as scripts/fetch.py takes them: Maven coordinates become a
    URL checked by the repository's .sha1, and dest defaults to the file name."""
    artifacts = []
    for entry in yaml.safe_load(MANIFEST.read_text())[group]:
        entry = dict(entry)
        if "maven" in entry:
            entry["url"] = maven_url(entry.pop("maven"))
            entry.setdefault("sha1_sidecar", True)
        entry.setdefault("dest", entry["url"].rsplit("/", 1)[-1])
        artifacts.append(entry)
    return artifacts


@dataclass(frozen=True)
class Download:
    step: command.local.Command
    folder: Path  # where the group's files are, once `step` has run


def download(platform: Platform, group: str, parent: pulumi.Resource) -> Download:
    """The step that lays out one group of the manifest. Its folder is named by the
    group's content, so that a changed version makes a new folder (and replaces the
    containers that mount it) while an unchanged one does nothing."""
    s = platform.settings
    spec = json.dumps({"group": group, "artifacts": manifest_group(group)}, sort_keys=True)
    folder = platform.work_dir / "downloads" / f"{group}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"
    fetch = [PYTHON, "scripts/fetch.py", "--dest", str(folder)]
    step = command.local.Command(
        f"download-{group}",
        create=shlex.join(fetch + ["--spec", "-", "--cache", str(s.download_cache)]
                          + (["--mirror", s.download_mirror] if s.download_mirror else [])),
        stdin=spec,
        # the folder this step made goes with it; the cache stays
        delete=shlex.join(fetch + ["--remove"]),
        dir=str(PROJECT_DIR),
        triggers=[spec],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return Download(step, folder)


def build_image(platform: Platform, name: str, context: Path, repository: str, build_args: dict[str, str],
                jars: Download, parent: pulumi.Resource) -> command.local.Command:
    """The step that builds an image from a folder of resources/ plus downloaded jars
    (as jars/ in the build context). Its stdout is the image id, which the containers
    run: a changed Dockerfile, build argument or jar rebuilds the image and replaces
    them; an unchanged one does nothing. Destroy removes the tag it made."""
    repo = platform.settings.name(repository)
    build = [PYTHON, "scripts/build_image.py", "build", "--context", str(context), "--repo", repo,
             "--add", f"{jars.folder}=jars"]
    for key, value in sorted(build_args.items()):
        build += ["--build-arg", f"{key}={value}"]
    return command.local.Command(
        name,
        create=shlex.join(build),
        # PULUMI_COMMAND_STDOUT: the id this step printed when it was created
        delete=shlex.join([PYTHON, "scripts/build_image.py", "remove", "--repo", repo]) + ' "$PULUMI_COMMAND_STDOUT"',
        dir=str(PROJECT_DIR),
        triggers=[content_hash([context]), json.dumps(build_args, sort_keys=True), jars.folder.name],
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=[jars.step],
            # the old step's delete untags by image id: run it before the new build, so
            # that an identical rebuild is not untagged right after it was made
            delete_before_replace=True,
        ),
    )
