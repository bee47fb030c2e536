"""scripts/build_image.py against real Docker engines: the default one, and a second one
standing in for a remote Docker host (dockerHost). Base images are made locally."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from engine import docker, import_base
from fileserver import FileServer
from harness import PROJECT_DIR
from scripts import fetch

SCRIPT = PROJECT_DIR / "scripts/build_image.py"
BAKE = PROJECT_DIR / "resources/bake"


@pytest.fixture
def repo(base_image):
    name = f"fhl-test-build-{uuid.uuid4().hex[:8]}"
    yield name
    tags = docker("images", "--format", "{{.Repository}}:{{.Tag}}", name).stdout.split()
    if tags:
        docker("image", "rm", "-f", *tags)


def context(tmp_path: Path, greeting: str = "hello") -> Path:
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


def build(ctx: Path, tag: str, base: str, *adds: str, host: str | None = None,
          downloads: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, str(SCRIPT), "build", "--context", str(ctx), "--tag", tag,
               "--build-arg", f"BASE_IMAGE={base}"]
    for add in adds:
        command += [add] if add.startswith("--") else ["--add", add]
    if downloads:
        command += ["--downloads", str(downloads)]
    env = {**os.environ, "DOCKER_HOST": host} if host else None
    return subprocess.run(command, capture_output=True, text=True, env=env)


def tags_of(repo: str, host: str | None = None) -> list[str]:
    return sorted(docker("images", "--format", "{{.Tag}}", repo, host=host).stdout.split())


def inspect_id(reference: str, host: str | None = None) -> str | None:
    result = docker("image", "inspect", "--format", "{{.Id}}", reference, host=host)
    return result.stdout.strip() if result.returncode == 0 else None


def test_builds_the_tag_and_prints_only_the_image_id(tmp_path, base_image, repo):
    result = build(context(tmp_path), f"{repo}:one", base_image, f"{jars(tmp_path)}=jars")
    assert result.returncode == 0, result.stderr
    image_id = result.stdout.strip()
    assert result.stdout == image_id + "\n" and image_id.startswith("sha256:")
    assert tags_of(repo) == ["one"] and inspect_id(f"{repo}:one") == image_id
    # the jars were put in the build context
    listing = docker("run", "--rm", "--network", "none", image_id, "/bin/busybox", "ls", "/lib/jars", check=True).stdout
    assert listing.split() == ["a.jar"]


def test_does_nothing_when_the_engine_has_the_tag(tmp_path, base_image, repo):
    ctx, jar_folder = context(tmp_path), jars(tmp_path)
    first = build(ctx, f"{repo}:same", base_image, f"{jar_folder}=jars")
    (ctx / "greeting.txt").write_text("never built\n")  # the tag says what it is made of
    second = build(ctx, f"{repo}:same", base_image, f"{jar_folder}=jars")
    assert second.returncode == 0 and second.stdout == first.stdout
    assert "is on the engine already" in second.stderr and "Step" not in second.stderr  # docker build did not run


def test_files_in_the_image_are_readable_by_any_user_whatever_the_umask(tmp_path, base_image, repo):
    jar_folder = jars(tmp_path)
    (jar_folder / "a.jar").chmod(0o600)
    jar_folder.chmod(0o700)
    ctx = context(tmp_path)
    (ctx / "greeting.txt").chmod(0o600)
    image_id = build(ctx, f"{repo}:modes", base_image, f"{jar_folder}=jars").stdout.strip()
    read = docker("run", "--rm", "--network", "none", "--user", "9999", image_id,
                  "/bin/busybox", "cat", "/lib/jars/a.jar", "/greeting.txt")
    assert read.returncode == 0, read.stderr
    assert read.stdout == "jarhello\n"


def test_fails_loudly_on_a_broken_dockerfile_and_leaves_no_container(tmp_path, base_image, repo):
    ctx = context(tmp_path)
    (ctx / "Dockerfile").write_text(f"FROM {base_image}\nRUN [\"/bin/busybox\", \"false\"]\n")
    result = build(ctx, f"{repo}:broken", base_image, f"{jars(tmp_path)}=jars")
    assert result.returncode != 0 and result.stdout == ""
    assert "docker build of" in result.stderr and "failed" in result.stderr
    assert "returned a non-zero code" in result.stderr  # docker's own error is shown
    assert tags_of(repo) == []
    # --force-rm: no container of the failed step is left; only containers of this
    # test's own base image are looked at (the engine may run anything else)
    assert docker("ps", "-aq", "--filter", f"ancestor={base_image}").stdout.split() == []


def test_remove_untags_and_is_quiet_when_the_tag_is_gone(tmp_path, base_image, repo):
    build(context(tmp_path), f"{repo}:gone", base_image, f"{jars(tmp_path)}=jars")
    for _ in range(2):  # again: a destroy after a manual clean-up is not an error
        removed = subprocess.run([sys.executable, str(SCRIPT), "remove", f"{repo}:gone"], capture_output=True, text=True)
        assert removed.returncode == 0, removed.stderr
        assert tags_of(repo) == []


def lay_out_connectors(tmp_path: Path) -> Path:
    """A connectors folder laid out by scripts/fetch.py from a local server, under a
    umask that would make it private."""
    body = b"connector bytes"
    spec = {"group": "kafka-connectors", "artifacts": [
        {"name": "datagen", "url": "https://example.org/dl/datagen.jar", "dest": "datagen/datagen.jar",
         "sha256": hashlib.sha256(body).hexdigest()}]}
    with FileServer() as server:
        server.files["/example.org/dl/datagen.jar"] = body
        spec_file = tmp_path / "spec.json"
        spec_file.write_text(json.dumps(spec))
        old = os.umask(0o077)
        try:
            code = fetch.main(["--spec", str(spec_file), "--dest", str(tmp_path / "connectors"),
                               "--cache", str(tmp_path / "cache"), "--mirror", server.url])
        finally:
            os.umask(old)
    assert code == 0
    return tmp_path / "connectors"


def test_a_laid_out_download_folder_is_readable_by_the_flink_user(tmp_path, base_image):
    folder = lay_out_connectors(tmp_path)
    assert oct(folder.stat().st_mode & 0o777) == "0o755"
    assert oct((folder / "datagen/datagen.jar").stat().st_mode & 0o777) == "0o644"
    # as the Flink image runs its processes (uid 9999), with the folder mounted
    read = docker("run", "--rm", "--network", "none", "--user", "9999", "-v", f"{folder}:/tmp/connector:ro",
                  base_image, "/bin/busybox", "cat", "/tmp/connector/datagen/datagen.jar")
    assert read.returncode == 0, read.stderr
    assert read.stdout == "connector bytes"


def test_on_a_second_engine_the_image_is_built_there_with_the_connectors_readable(tmp_path, second_engine):
    host = second_engine.host
    base = import_base(host=host)
    folder = lay_out_connectors(tmp_path)
    tag = f"fhl-test-remote-{uuid.uuid4().hex[:8]}:baked"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "build", "--context", str(BAKE), "--tag", tag, "--add", f"{folder}=files",
         "--build-arg", f"BASE_IMAGE={base}", "--build-arg", "TARGET=/etc/kafka-connect/jars"],
        capture_output=True, text=True, env={**os.environ, "DOCKER_HOST": host})
    assert result.returncode == 0, result.stderr
    assert inspect_id(tag, host=host) == result.stdout.strip()
    assert inspect_id(tag) is None  # built where dockerHost points, not on the default engine
    for user in ("1000", "9999"):  # Connect's appuser, Flink's flink
        read = docker("run", "--rm", "--network", "none", "--user", user, tag,
                      "/bin/busybox", "cat", "/etc/kafka-connect/jars/datagen/datagen.jar", host=host)
        assert read.returncode == 0, read.stderr
        assert read.stdout == "connector bytes"


# where a stand-in for flink:1.20.1 keeps Flink's Prometheus reporter
REPORTER_PLACES = {
    "plugin": "mkdir -p /opt/flink/plugins/metrics-prometheus && echo prom > "
              "/opt/flink/plugins/metrics-prometheus/flink-metrics-prometheus-1.20.1.jar",  # the distribution's
    "opt": "echo prom > /opt/flink/opt/flink-metrics-prometheus-1.20.1.jar",
    "none": "true",
}


@pytest.fixture
def flink_like_base(base_image, tmp_path):
    """A maker of stand-ins for flink:1.20.1: busybox's commands on the PATH, Flink's S3
    file system jars in /opt/flink/opt, a curl (the official image has one), and the
    Prometheus reporter where REPORTER_PLACES says."""
    tags = []

    def make(reporter: str = "plugin") -> str:
        tag = f"fhl-test-flink-base:{uuid.uuid4().hex[:8]}"
        ctx = tmp_path / f"flink-base-{tag.rsplit(':', 1)[1]}"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(
            f"FROM {base_image}\n"
            'RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/usr/sbin", "/sbin"]\n'
            'RUN ["/bin/busybox", "--install", "-s"]\n'
            "RUN mkdir -p /opt/flink/opt /opt/flink/lib /opt/flink/plugins"
            " && echo hadoop > /opt/flink/opt/flink-s3-fs-hadoop-1.20.1.jar"
            " && echo presto > /opt/flink/opt/flink-s3-fs-presto-1.20.1.jar"
            " && printf '#!/bin/sh\\nexit 0\\n' > /usr/bin/curl && chmod 755 /usr/bin/curl"
            f" && {REPORTER_PLACES[reporter]}\n")
        docker("build", "--force-rm", "-t", tag, str(ctx), check=True)
        tags.append(tag)
        return tag

    yield make
    for tag in tags:
        docker("image", "rm", "-f", tag)


def test_the_plain_flink_image_builds_with_the_s3_plugins_where_flink_loads_them(tmp_path, flink_like_base, repo):
    jar_folder = jars(tmp_path, content="iceberg")
    result = build(PROJECT_DIR / "resources/flex/flink", f"{repo}:plain", flink_like_base(), f"{jar_folder}=jars")
    assert result.returncode == 0, result.stderr
    image = result.stdout.strip()
    listing = docker("run", "--rm", "--network", "none", "--user", "9999", image, "/bin/sh", "-c",
                     "cat /opt/flink/plugins/s3-fs-hadoop/flink-s3-fs-hadoop-1.20.1.jar "
                     "/opt/flink/plugins/s3-fs-presto/flink-s3-fs-presto-1.20.1.jar /opt/flink/lib/a.jar; echo; "
                     "test -r /opt/hadoop/etc/hadoop/core-site.xml && echo core-site; echo $HADOOP_CONF_DIR; "
                     "cat /opt/flink/plugins/metrics-prometheus/flink-metrics-prometheus-1.20.1.jar")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.split() == ["hadoop", "presto", "iceberg", "core-site", "/opt/hadoop/etc/hadoop", "prom"]


def test_the_flink_image_enables_the_prometheus_reporter_or_is_not_built(tmp_path, flink_like_base, repo):
    # a base that keeps the reporter in opt/ only gets it enabled as a plugin; one
    # without it is no Flink image of ours (the telemetry stack would scrape nothing)
    jar_folder = jars(tmp_path, content="iceberg")
    result = build(PROJECT_DIR / "resources/flex/flink", f"{repo}:opt", flink_like_base("opt"), f"{jar_folder}=jars")
    assert result.returncode == 0, result.stderr
    read = docker("run", "--rm", "--network", "none", "--user", "9999", result.stdout.strip(), "/bin/cat",
                  "/opt/flink/plugins/metrics-prometheus/flink-metrics-prometheus-1.20.1.jar")
    assert read.returncode == 0 and read.stdout.strip() == "prom", read.stderr
    missing = build(PROJECT_DIR / "resources/flex/flink", f"{repo}:none", flink_like_base("none"), f"{jar_folder}=jars")
    assert missing.returncode != 0 and missing.stdout == ""
    assert "flink-metrics-prometheus-1.20.1.jar" in missing.stderr


def test_a_download_that_lost_a_file_is_restored_before_the_image_is_built(tmp_path, base_image, repo):
    """A jar gone from the laid-out folder and from the cache: the build fetches it again
    (one request) and the image holds it; never an image without a file its download lists."""
    bodies = {"datagen/datagen.jar": b"datagen bytes", "s3/s3-sink.jar": b"s3 sink bytes"}
    spec = {"group": "kafka-connectors", "artifacts": [
        {"name": name.split("/")[0], "url": f"https://example.org/dl/{name.split('/')[1]}", "dest": name,
         "sha256": hashlib.sha256(body).hexdigest()} for name, body in bodies.items()]}
    folder, cache = tmp_path / "connectors", tmp_path / "cache"
    with FileServer() as server:
        for name, body in bodies.items():
            server.files[f"/example.org/dl/{name.split('/')[1]}"] = body
        downloads = tmp_path / "downloads.json"
        downloads.write_text(json.dumps({"downloads": [
            {"dest": str(folder), "spec": spec, "cache": str(cache), "mirror": server.url}]}))
        assert fetch.lay_out(spec, folder, cache, server.url, log=lambda line: None) is None
        assert server.total == 2
        (folder / "s3/s3-sink.jar").unlink()
        for blob in (cache / "blobs").iterdir():
            if blob.read_bytes() == bodies["s3/s3-sink.jar"]:
                blob.unlink()
        result = build(BAKE, f"{repo}:restored", base_image, f"{folder}=files", "--build-arg=TARGET=/jars",
                       downloads=downloads)
        assert result.returncode == 0, result.stderr
        assert server.total == 3  # the lost jar, and nothing else
        assert "s3/s3-sink.jar is missing" in result.stderr
    listing = docker("run", "--rm", "--network", "none", result.stdout.strip(), "/bin/busybox", "cat",
                     "/jars/datagen/datagen.jar", "/jars/s3/s3-sink.jar")
    assert listing.stdout == "datagen bytess3 sink bytes"


def test_a_download_that_cannot_be_restored_builds_nothing_and_says_what_to_do(tmp_path, base_image, repo):
    spec = {"group": "g", "artifacts": [{"name": "a", "url": "https://example.org/dl/a.jar", "dest": "a.jar",
                                         "sha256": hashlib.sha256(b"a").hexdigest()}]}
    folder, cache = tmp_path / "g", tmp_path / "cache"
    with FileServer() as server:
        server.files["/example.org/dl/a.jar"] = b"a"
        fetch.lay_out(spec, folder, cache, server.url, log=lambda line: None)
        (folder / "a.jar").unlink()
        shutil.rmtree(cache / "blobs")
        server.files.clear()
        downloads = tmp_path / "downloads.json"
        downloads.write_text(json.dumps({"downloads": [
            {"dest": str(folder), "spec": spec, "cache": str(cache), "mirror": server.url}]}))
        result = build(BAKE, f"{repo}:never", base_image, f"{folder}=files", "--build-arg=TARGET=/jars",
                       downloads=downloads)
    assert result.returncode != 0 and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"build_image: {folder} cannot be laid out again (")
    assert "HTTP 404" in last and "nothing was built" in last and "`make up` again" in last
    assert tags_of(repo) == []
