"""The command steps the engines make, as pulumi-command resources, each running one of
the program's own steps in scripts/ (standard library only) on `pulumi up`, never during
preview, and again only when what it is made from changes:

- a download lays out one group of resources/downloads.yaml on this machine (a stack
  names the group, `stacks.service.Download`; engines/images.py makes its one step);
- an image build builds, on the Docker engine, an image tagged by its content;
- a health gate waits until a container's health check passes (engines/docker.py);
- a workload gate waits until a Kubernetes workload is ready or completed, and fails within
  seconds of a cause that waiting will not heal (engines/kubernetes.py).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import pulumi
import pulumi_command as command
import yaml

from settings import PROJECT_DIR, RESOURCES, Settings

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


def content_hash(paths: Sequence[Path]) -> str:
    """SHA-256 over the names, executable bits and contents of files and folders
    (recursively, in a fixed order)."""
    digest = hashlib.sha256()
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for file in files:
            mode = "x" if file.stat().st_mode & 0o111 else "-"
            digest.update(f"{file.relative_to(root.parent).as_posix()} {mode}\0".encode())
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def docker_environment(settings: Settings) -> Optional[dict[str, str]]:
    """What a step that runs the docker CLI needs to reach the engine the program uses."""
    return {"DOCKER_HOST": settings.docker_host} if settings.docker_host else None


def work_dir() -> Path:
    """Where this stack's downloads go on this machine (one folder per developer stack)."""
    return PROJECT_DIR / ".work" / pulumi.get_stack()


@dataclass(frozen=True)
class Downloaded:
    """One group of the manifest as its step lays it out."""

    group: str
    step: command.local.Command
    folder: Path  # on this machine, once `step` has run
    # how to lay the folder out again: {"dest", "spec", "cache", "mirror"} as
    # scripts/build_image.py --downloads takes it
    restore: dict


def download(settings: Settings, work_dir: Path, group: str, parent: pulumi.Resource) -> Downloaded:
    """The step that lays out one group of the manifest. Its folder is named by the
    group's entries, so that a changed version makes a new folder (and rebuilds what
    carries it) while an unchanged one does nothing."""
    spec = json.dumps({"group": group, "artifacts": manifest_group(group)}, sort_keys=True)
    folder = work_dir / "downloads" / f"{group}-{hashlib.sha256(spec.encode()).hexdigest()[:12]}"
    fetch = [PYTHON, "scripts/fetch.py", "--dest", str(folder)]
    step = command.local.Command(
        f"download-{group}",
        create=shlex.join(fetch + ["--spec", "-", "--cache", str(settings.download_cache)]
                          + (["--mirror", settings.download_mirror] if settings.download_mirror else [])),
        stdin=spec,
        # the folder this step made goes with it; the cache stays
        delete=shlex.join(fetch + ["--remove"]),
        dir=str(PROJECT_DIR),
        triggers=[spec],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    restore = {"dest": str(folder), "spec": json.loads(spec), "cache": str(settings.download_cache),
               "mirror": settings.download_mirror}
    return Downloaded(group, step, folder, restore)


def build_step(settings: Settings, name: str, context: Path, tag: pulumi.Input[str],
               build_args: dict[str, pulumi.Input[str]], add: Sequence[tuple[Downloaded, str]],
               depends_on: Sequence[pulumi.Resource], parent: pulumi.Resource,
               push: bool = False, platform: str = "") -> command.local.Command:
    """The step that builds image `tag` on the engine from a context folder plus
    downloaded folders of this machine (`add`: (download, path inside the context)),
    each checked file by file first (and laid out again when a file is missing or
    changed), for `platform` when one is given, and with `push` pushes it to the
    registry the tag names. The tag is named
    by everything the image is made from, so an unchanged image is never built, sent or
    pushed again; the step prints the image id, which Docker containers run. Destroy
    untags it."""
    def create(tag: str, args: dict) -> str:
        build = [PYTHON, "scripts/build_image.py", "build", "--context", str(context), "--tag", tag]
        if platform:
            build += ["--platform", platform]
        if push:
            build.append("--push")
        for download, dest in add:
            build += ["--add", f"{download.folder}={dest}"]
        if add:
            build += ["--downloads", "-"]
        for key in sorted(args):
            build += ["--build-arg", f"{key}={args[key]}"]
        return shlex.join(build)

    return command.local.Command(
        name,
        create=pulumi.Output.all(tag, pulumi.Output.from_input(build_args)).apply(lambda a: create(a[0], a[1])),
        stdin=json.dumps({"downloads": [download.restore for download, _ in add]}, sort_keys=True) if add else None,
        delete=pulumi.Output.from_input(tag).apply(lambda t: shlex.join([PYTHON, "scripts/build_image.py", "remove", t])),
        dir=str(PROJECT_DIR),
        environment=docker_environment(settings),
        triggers=[tag],
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            # the old tag is removed before the new image is built, never after it
            delete_before_replace=True,
        ),
    )


def health_gate(settings: Settings, name: str, container_name: str, container: pulumi.CustomResource,
                timeout: int, parent: pulumi.Resource) -> command.local.Command:
    """The step that waits until a container is healthy, and fails naming it, with its
    last health check output and how to read its log, when it is not. It runs once per
    container (a replaced container gets a new id and is waited for again); when it
    failed, it is not saved, so the next `pulumi up` waits again before making
    anything that needs the service healthy."""
    return command.local.Command(
        f"{name}-healthy",
        create=shlex.join([PYTHON, "scripts/wait_healthy.py", "--timeout", str(timeout), container_name]),
        dir=str(PROJECT_DIR),
        environment=docker_environment(settings),
        triggers=[container.id],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[container]),
    )


def workload_gate(name: str, kind: str, context: str, namespace: str, workload: pulumi.CustomResource,
                  trigger: pulumi.Input[str], timeout: int, image_setting: str,
                  parent: Optional[pulumi.Resource]) -> command.local.Command:
    """The step that waits until a Kubernetes workload (`kind` deployment or job, named
    `name`, in `namespace` of kubeconfig context `context`) is ready or completed
    (scripts/wait_workload.py), and fails in one line naming the service, the object, the
    cause and the way out as soon as a cause is seen that waiting will not heal (an image
    that does not exist, a claim that cannot be provisioned, a pod no node can take, a
    crash loop, a failed Job); `image_setting` names the setting of its image (images.KEY)
    for that line. It runs again when `trigger` changes (a new workload, a new pod
    template); when it failed, it is not saved, so the next `pulumi up` waits again before
    making anything that needs the service."""
    wait = [PYTHON, "scripts/wait_workload.py", "--context", context, "--namespace", namespace,
            "--timeout", str(timeout), *(["--image-setting", image_setting] if image_setting else []), kind, name]
    return command.local.Command(
        f"{name}-ready",
        create=shlex.join(wait),
        dir=str(PROJECT_DIR),
        triggers=[trigger],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[workload]),
    )
