"""scripts/build_image.py against a real Docker engine, on a base image made locally
(no registry is reachable here). Skipped, with the reason, where no engine answers."""

import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest

from harness import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts/build_image.py"


def engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command on PATH"
    result = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if result.returncode != 0:
        return f"no Docker engine answers ({result.stderr.strip().splitlines()[-1] if result.stderr.strip() else 'docker info failed'})"
    if not Path("/bin/busybox").exists():
        return "no /bin/busybox to make a base image from (apt-get install busybox-static)"
    return None


pytestmark = pytest.mark.skipif(engine_problem() is not None, reason=f"needs a Docker engine: {engine_problem()}")


@pytest.fixture(scope="module")
def base_image(tmp_path_factory):
    """A tiny base image from the static busybox: `docker import` of a one-file root."""
    tag = f"fhl-test-base:{uuid.uuid4().hex[:8]}"
    archive = tmp_path_factory.mktemp("base") / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add("/bin/busybox", arcname="bin/busybox")
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "busybox"
        tar.addfile(link)
    subprocess.run(["docker", "import", str(archive), tag], check=True, capture_output=True)
    yield tag
    subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)


@pytest.fixture
def repo():
    name = f"fhl-test-build-{uuid.uuid4().hex[:8]}"
    yield name
    tags = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", name],
                          capture_output=True, text=True).stdout.split()
    if tags:
        subprocess.run(["docker", "image", "rm", "-f", *tags], capture_output=True)


def context(tmp_path: Path, base: str, greeting: str = "hello") -> Path:
    folder = tmp_path / "context"
    folder.mkdir(exist_ok=True)
    (folder / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY greeting.txt /greeting.txt\nCOPY jars/ /lib/jars/\n"
        'RUN ["/bin/busybox", "cat", "/greeting.txt"]\n')
    (folder / "greeting.txt").write_text(greeting + "\n")
    return folder


def jars(tmp_path: Path, content: str = "jar") -> Path:
    folder = tmp_path / "jars"
    folder.mkdir(exist_ok=True)
    (folder / "a.jar").write_text(content)
    return folder


def build(ctx: Path, repo: str, base: str, jar_folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "build", "--context", str(ctx), "--repo", repo,
         "--build-arg", f"BASE_IMAGE={base}", "--add", f"{jar_folder}=jars"],
        capture_output=True, text=True)


def tags_of(repo: str) -> list[str]:
    out = subprocess.run(["docker", "images", "--format", "{{.Tag}}", repo], capture_output=True, text=True).stdout
    return sorted(out.split())


def inspect_id(reference: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", reference],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_builds_tags_and_prints_only_the_image_id(tmp_path, base_image, repo):
    result = build(context(tmp_path, base_image), repo, base_image, jars(tmp_path))
    assert result.returncode == 0, result.stderr
    image_id = result.stdout.strip()
    assert result.stdout == image_id + "\n" and image_id.startswith("sha256:")
    [tag] = tags_of(repo)
    assert inspect_id(f"{repo}:{tag}") == image_id
    # the jars were put in the build context
    listing = subprocess.run(["docker", "run", "--rm", image_id, "/bin/busybox", "ls", "/lib/jars"],
                             capture_output=True, text=True, check=True).stdout
    assert listing.split() == ["a.jar"]


def test_does_nothing_when_run_again_unchanged(tmp_path, base_image, repo):
    ctx, jar_folder = context(tmp_path, base_image), jars(tmp_path)
    first = build(ctx, repo, base_image, jar_folder)
    second = build(ctx, repo, base_image, jar_folder)
    assert second.returncode == 0 and second.stdout == first.stdout
    assert "is up to date" in second.stderr and "Step" not in second.stderr  # docker build did not run
    assert len(tags_of(repo)) == 1


def test_rebuilds_when_the_context_or_a_jar_changes(tmp_path, base_image, repo):
    jar_folder = jars(tmp_path)
    first = build(context(tmp_path, base_image), repo, base_image, jar_folder).stdout.strip()
    second = build(context(tmp_path, base_image, "changed"), repo, base_image, jar_folder).stdout.strip()
    third = build(context(tmp_path, base_image, "changed"), repo, base_image, jars(tmp_path, "new jar")).stdout.strip()
    assert len({first, second, third}) == 3
    assert len(tags_of(repo)) == 3


def test_fails_loudly_on_a_broken_dockerfile(tmp_path, base_image, repo):
    ctx = context(tmp_path, base_image)
    (ctx / "Dockerfile").write_text(f"FROM {base_image}\nRUN [\"/bin/busybox\", \"false\"]\n")
    result = build(ctx, repo, base_image, jars(tmp_path))
    assert result.returncode != 0 and result.stdout == ""
    assert "docker build of" in result.stderr and "failed" in result.stderr
    assert "returned a non-zero code" in result.stderr  # docker's own error is shown
    assert tags_of(repo) == []


def test_remove_untags_what_it_built(tmp_path, base_image, repo):
    image_id = build(context(tmp_path, base_image), repo, base_image, jars(tmp_path)).stdout.strip()
    removed = subprocess.run([sys.executable, str(SCRIPT), "remove", "--repo", repo, image_id],
                             capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr
    assert tags_of(repo) == []
    # removing again (a destroy after a manual clean-up) is not an error
    again = subprocess.run([sys.executable, str(SCRIPT), "remove", "--repo", repo, image_id],
                           capture_output=True, text=True)
    assert again.returncode == 0
