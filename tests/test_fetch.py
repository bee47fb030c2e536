"""scripts/fetch.py against a local server: layout, cache, verification, failures."""

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from fileserver import FileServer
from harness import PROJECT_DIR
from engines.steps import manifest_group
from scripts import fetch
from together import Together


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_gz_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def path_of(url: str) -> str:
    """Where a manifest URL is served through the mirror: /HOST/PATH."""
    parts = urlsplit(url)
    return f"/{parts.netloc}{parts.path}"


def synthetic(url: str) -> bytes:
    """A small stand-in for the artifact at url, shaped like the real one."""
    name = url.rsplit("/", 1)[-1]
    if name == "confluentinc-kafka-connect-s3-10.6.5.zip":
        return zip_bytes({"confluentinc-kafka-connect-s3-10.6.5/lib/kafka-connect-s3-10.6.5.jar": b"s3 sink",
                          "confluentinc-kafka-connect-s3-10.6.5/manifest.json": b"{}"})
    if name == "iceberg-kafka-connect-runtime-0.6.19.zip":
        return zip_bytes({"iceberg-kafka-connect-runtime-0.6.19/lib/iceberg-kafka-connect-0.6.19.jar": b"iceberg sink"})
    if name.endswith(".tar.gz"):
        return tar_gz_bytes({"debezium-connector-postgres/debezium-connector-postgres-3.1.1.Final.jar": b"debezium"})
    return f"jar {name}".encode()


@pytest.fixture
def server():
    with FileServer() as s:
        yield s


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(fetch, "BACKOFF", 0.01)


def serve_group(server: FileServer, group: str) -> dict:
    spec = {"group": group, "artifacts": manifest_group(group)}
    for artifact in spec["artifacts"]:
        body = synthetic(artifact["url"])
        server.files[path_of(artifact["url"])] = body
        server.files[path_of(artifact["url"]) + ".sha1"] = hashlib.sha1(body).hexdigest().encode() + b"  file\n"
    return spec


def run_fetch(spec, dest, cache, mirror, capsys=None) -> tuple[int, str]:
    spec_file = dest.parent / f"{spec['group']}.json"
    spec_file.write_text(json.dumps(spec))
    code = fetch.main(["--spec", str(spec_file), "--dest", str(dest), "--cache", str(cache), "--mirror", mirror])
    out = capsys.readouterr() if capsys else None
    return code, (out.out + out.err) if out else ""


def no_partial_left(folder) -> bool:
    return not any(".partial-" in p.name or ".unpack-" in p.name for p in folder.rglob("*"))


def test_cold_run_lays_out_the_kafka_connectors_as_the_spec_says(server, tmp_path, capsys):
    spec = serve_group(server, "kafka-connectors")
    dest = tmp_path / "kafka"
    code, out = run_fetch(spec, dest, tmp_path / "cache", server.url, capsys)
    assert code == 0, out
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == [
        ".manifest.json",
        "confluent-s3/kafka-connect-s3-10.6.5.jar",
        "debezium-connector-postgres/debezium-connector-postgres-3.1.1.Final.jar",
        "iceberg/iceberg-kafka-connect-0.6.19.jar",
        "msk-datagen/msk-data-generator.jar",
    ]
    assert (dest / "msk-datagen/msk-data-generator.jar").read_bytes() == b"jar msk-data-generator-0.4-jar-with-dependencies.jar"
    # a line per artifact and a summary
    assert "downloaded in" in out and "trusted on first use" in out and "sha1 from the repository" in out
    assert "4 artifacts" in out and "ready in" in out
    assert no_partial_left(tmp_path)


@pytest.mark.parametrize("group, expected", [
    ("flink-connectors", ["flink-faker-0.5.3.jar", "flink-sql-connector-kafka-3.3.0-1.20.jar"]),
    ("pyflink-jars", sorted([
        "hadoop-common-3.3.6.jar", "hadoop-mapreduce-client-core-3.3.6.jar", "hadoop-hdfs-client-3.3.6.jar",
        "hadoop-auth-3.3.6.jar", "hadoop-aws-3.3.6.jar", "woodstox-core-6.5.1.jar", "stax2-api-4.2.1.jar",
        "commons-configuration2-2.8.0.jar", "hadoop-shaded-guava-1.1.1.jar", "aws-java-sdk-bundle-1.11.1026.jar",
        "iceberg-flink-runtime-1.20-1.8.1.jar", "iceberg-aws-bundle-1.8.1.jar", "flink-sql-parquet-1.20.1.jar"])),
])
def test_cold_run_lays_out_the_flink_jars(server, tmp_path, group, expected):
    spec = serve_group(server, group)
    dest = tmp_path / group
    assert run_fetch(spec, dest, tmp_path / "cache", server.url)[0] == 0
    assert sorted(p.name for p in dest.iterdir() if p.name != ".manifest.json") == expected


def test_maven_artifacts_come_from_maven_central_with_their_sha1():
    jars = {a["name"]: a for a in manifest_group("pyflink-jars")}
    assert jars["iceberg-flink-runtime"]["url"] == (
        "https://repo1.maven.org/maven2/org/apache/iceberg/iceberg-flink-runtime-1.20/1.8.1/iceberg-flink-runtime-1.20-1.8.1.jar")
    assert all(a["sha1_sidecar"] for a in jars.values())


def test_warm_run_makes_no_request(server, tmp_path, capsys):
    spec = serve_group(server, "kafka-connectors")
    cache = tmp_path / "cache"
    assert run_fetch(spec, tmp_path / "first", cache, server.url)[0] == 0
    before = server.total
    code, out = run_fetch(spec, tmp_path / "second", cache, server.url, capsys)  # a new folder, same cache
    assert code == 0 and server.total == before
    assert out.count("from cache") == 4
    code, out = run_fetch(spec, tmp_path / "second", cache, server.url, capsys)  # the folder is there already
    assert code == 0 and server.total == before and "up to date" in out


def fails_cleanly(spec, tmp_path, server, capsys, *words):
    dest = tmp_path / "dest"
    code, out = run_fetch(spec, dest, tmp_path / "cache", server.url, capsys)
    assert code == 1
    assert not dest.exists(), "a failed run must not leave the folder"
    assert no_partial_left(tmp_path)
    for word in words:
        assert word in out, (word, out)
    return out


def test_a_corrupted_body_is_refused(server, tmp_path, capsys):
    spec = serve_group(server, "flink-connectors")
    kafka_jar = next(a for a in spec["artifacts"] if a["name"] == "flink-sql-connector-kafka")
    server.files[path_of(kafka_jar["url"])] = b"an error page, not a jar"
    fails_cleanly(spec, tmp_path, server, capsys, "flink-sql-connector-kafka", kafka_jar["url"].split("//")[1], "sha1 is")
    assert hashlib.sha256(b"an error page, not a jar").hexdigest() not in {p.name for p in (tmp_path / "cache/blobs").iterdir()}


def test_a_wrong_sha1_is_refused(server, tmp_path, capsys):
    spec = serve_group(server, "flink-connectors")
    kafka_jar = next(a for a in spec["artifacts"] if a["name"] == "flink-sql-connector-kafka")
    server.files[path_of(kafka_jar["url"]) + ".sha1"] = b"0" * 40
    fails_cleanly(spec, tmp_path, server, capsys, "flink-sql-connector-kafka", "0" * 40)


def test_a_404_fails_at_once_and_names_the_artifact(server, tmp_path, capsys):
    spec = serve_group(server, "flink-connectors")
    faker = next(a for a in spec["artifacts"] if a["name"] == "flink-faker")
    del server.files[path_of(faker["url"])]
    out = fails_cleanly(spec, tmp_path, server, capsys, "flink-faker", "HTTP 404", "github.com/knaufk/flink-faker")
    assert server.requests[path_of(faker["url"])] == 1  # not retried
    assert "fetch failed" in out


def test_a_500_that_recovers_is_retried(server, tmp_path):
    spec = serve_group(server, "flink-connectors")
    faker = next(a for a in spec["artifacts"] if a["name"] == "flink-faker")
    server.failures[path_of(faker["url"])] = [500, 503]
    assert run_fetch(spec, tmp_path / "dest", tmp_path / "cache", server.url)[0] == 0
    assert server.requests[path_of(faker["url"])] == 3


def test_retries_back_off_with_pauses_that_double(server, tmp_path, monkeypatch):
    # three 500s, then the file: pauses of 0.1, 0.2 and 0.4 s before the retries (the
    # pauses it asks for, recorded; no other artifact fails, so no other pause)
    pauses: list[float] = []
    monkeypatch.setattr(fetch, "time", SimpleNamespace(monotonic=time.monotonic,
                                                       sleep=lambda s: pauses.append(s) or time.sleep(s)))
    monkeypatch.setattr(fetch, "BACKOFF", 0.1)
    spec = serve_group(server, "flink-connectors")
    faker = next(a for a in spec["artifacts"] if a["name"] == "flink-faker")
    server.failures[path_of(faker["url"])] = [500, 502, 503]
    assert run_fetch(spec, tmp_path / "dest", tmp_path / "cache", server.url)[0] == 0
    assert server.requests[path_of(faker["url"])] == 4
    assert pauses == [0.1, 0.2, 0.4]


def test_a_500_that_persists_gives_up(server, tmp_path, capsys):
    spec = serve_group(server, "flink-connectors")
    faker = next(a for a in spec["artifacts"] if a["name"] == "flink-faker")
    server.failures[path_of(faker["url"])] = [500] * 10
    fails_cleanly(spec, tmp_path, server, capsys, "flink-faker", "HTTP 500", "gave up after 5 tries")


def test_a_connection_dropped_mid_body_is_retried(server, tmp_path):
    spec = serve_group(server, "flink-connectors")
    faker = next(a for a in spec["artifacts"] if a["name"] == "flink-faker")
    server.drops[path_of(faker["url"])] = 1
    dest = tmp_path / "dest"
    assert run_fetch(spec, dest, tmp_path / "cache", server.url)[0] == 0
    assert (dest / "flink-faker-0.5.3.jar").read_bytes() == synthetic(faker["url"])
    assert server.requests[path_of(faker["url"])] == 2


def test_a_connection_always_dropped_fails_cleanly(server, tmp_path, capsys):
    spec = serve_group(server, "flink-connectors")
    faker = next(a for a in spec["artifacts"] if a["name"] == "flink-faker")
    server.drops[path_of(faker["url"])] = 10
    fails_cleanly(spec, tmp_path, server, capsys, "flink-faker", "gave up")


def test_a_server_that_stops_answering_is_given_up_on_after_the_timeout(server, tmp_path, capsys, monkeypatch):
    # it takes the connection and says nothing (a stalled mirror, 10 s per answer); TIMEOUT
    # seconds without a byte end each try (here 0.3 s), the retries too, and the run fails
    # naming it: "timed out" is the client's own timeout, as the server never answered
    spec = serve_group(server, "flink-connectors")
    server.delay = 10
    monkeypatch.setattr(fetch, "TIMEOUT", 0.3)
    fails_cleanly(spec, tmp_path, server, capsys, "timed out", "gave up after 5 tries")


def test_a_groups_artifacts_are_fetched_in_parallel(server, tmp_path):
    # the server answers the first 8 requests only once all 8 are in flight at once (its
    # --jobs, default 8): told by the server, not by a clock; bench/bench_downloads.py times it
    spec = serve_group(server, "pyflink-jars")
    server.together = Together(8, patience=fetch.TIMEOUT / 3)  # shorter than a request's own timeout
    assert run_fetch(spec, tmp_path / "dest", tmp_path / "cache", server.url)[0] == 0
    assert len(spec["artifacts"]) > 8 and server.together.met


def test_trust_on_first_use_then_checked(server, tmp_path, capsys):
    spec = serve_group(server, "flink-connectors")
    faker = next(a for a in spec["artifacts"] if a["name"] == "flink-faker")
    cache = tmp_path / "cache"
    assert run_fetch(spec, tmp_path / "first", cache, server.url)[0] == 0
    lock = json.loads((cache / "lock.json").read_text())
    assert lock[faker["url"]] == hashlib.sha256(synthetic(faker["url"])).hexdigest()
    # the cached copy is lost and the site now serves something else: refused
    (cache / "blobs" / lock[faker["url"]]).unlink()
    server.files[path_of(faker["url"])] = b"tampered"
    fails_cleanly(spec, tmp_path, server, capsys, "flink-faker", "recorded", "on first use")


def test_a_pinned_sha256_is_checked(server, tmp_path, capsys):
    spec = serve_group(server, "flink-connectors")
    faker = next(a for a in spec["artifacts"] if a["name"] == "flink-faker")
    faker["sha256"] = hashlib.sha256(b"something else").hexdigest()
    fails_cleanly(spec, tmp_path, server, capsys, "flink-faker", "pins")
    faker["sha256"] = hashlib.sha256(synthetic(faker["url"])).hexdigest()
    code, out = run_fetch(spec, tmp_path / "ok", tmp_path / "cache", server.url, capsys)
    assert code == 0 and "pinned sha256" in out


def test_an_archive_that_escapes_its_folder_is_refused(server, tmp_path, capsys):
    spec = {"group": "evil", "artifacts": [{"name": "evil", "url": "https://example.org/evil.zip", "unpack": "zip",
                                             "keep": "x", "dest": "x"}]}
    server.files["/example.org/evil.zip"] = zip_bytes({"../outside.txt": b"boo", "x/a": b"a"})
    fails_cleanly(spec, tmp_path, server, capsys, "outside the folder")
    assert not (tmp_path / "outside.txt").exists()


def test_the_mirror_rewrites_every_url():
    assert fetch.mirrored("https://repo1.maven.org/maven2/a/b.jar", "https://mirror.corp/dl/") == \
        "https://mirror.corp/dl/repo1.maven.org/maven2/a/b.jar"
    assert fetch.mirrored("https://github.com/x/y.jar?raw=1", "file:///srv/m") == "file:///srv/m/github.com/x/y.jar?raw=1"
    assert fetch.mirrored("https://github.com/x/y.jar", "") == "https://github.com/x/y.jar"


def test_remove_deletes_the_folder_and_keeps_the_cache(server, tmp_path):
    spec = serve_group(server, "flink-connectors")
    dest, cache = tmp_path / "dest", tmp_path / "cache"
    assert run_fetch(spec, dest, cache, server.url)[0] == 0
    assert fetch.main(["--remove", "--dest", str(dest)]) == 0
    assert not dest.exists() and any((cache / "blobs").iterdir())


def test_the_command_line_reads_the_spec_from_stdin_and_exits_non_zero_on_failure(server, tmp_path):
    spec = serve_group(server, "flink-connectors")

    def cli(dest, cache):
        return subprocess.run(
            [sys.executable, "scripts/fetch.py", "--spec", "-", "--dest", str(tmp_path / dest),
             "--cache", str(tmp_path / cache), "--mirror", server.url],
            input=json.dumps(spec), capture_output=True, text=True, cwd=PROJECT_DIR)

    ok = cli("d1", "c1")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("downloaded in") == 2
    server.files.clear()
    assert cli("d2", "c1").returncode == 0  # everything is in the cache: the server is not asked
    bad = cli("d3", "c2")
    assert bad.returncode == 1 and "fetch failed" in bad.stderr and "HTTP 404" in bad.stderr


# -- a laid-out folder is checked file by file wherever it is used again ------------------

def laid_out(server, tmp_path, capsys):
    spec = serve_group(server, "kafka-connectors")
    dest, cache = tmp_path / "dest", tmp_path / "cache"
    assert run_fetch(spec, dest, cache, server.url, capsys)[0] == 0
    return spec, dest, cache


def some_file(dest):
    return sorted(p for p in dest.rglob("*.jar"))[0]


@pytest.mark.parametrize("harm", ["remove", "alter", "same size", "add"])
def test_a_folder_with_a_file_missing_changed_or_added_is_laid_out_again_from_the_cache(server, tmp_path, capsys, harm):
    spec, dest, cache = laid_out(server, tmp_path, capsys)
    victim = some_file(dest)
    original = victim.read_bytes()
    if harm == "remove":
        victim.unlink()
    elif harm == "alter":
        victim.write_bytes(b"truncated")
    elif harm == "same size":
        victim.write_bytes(bytes(len(original)))
    else:
        (victim.parent / "stray.jar").write_bytes(b"not downloaded")
    assert fetch.check_folder(dest) is not None
    before = server.total
    code, out = run_fetch(spec, dest, cache, server.url, capsys)
    assert code == 0, out
    assert server.total == before  # from the cache, no request
    assert "laying the folder out again" in out
    assert (victim.name in out) if harm != "add" else ("stray.jar" in out)
    assert victim.read_bytes() == original and not (victim.parent / "stray.jar").exists()
    assert fetch.check_folder(dest) is None
    assert no_partial_left(tmp_path)


def test_a_file_gone_from_the_folder_and_from_the_cache_is_fetched_again(server, tmp_path, capsys):
    spec, dest, cache = laid_out(server, tmp_path, capsys)
    victim = some_file(dest)
    original = victim.read_bytes()
    victim.unlink()
    # the cached downloads are damaged too (half-copied files)
    damaged = list((cache / "blobs").iterdir())
    for blob in damaged:
        blob.write_bytes(b"half")
    before = server.total
    code, out = run_fetch(spec, dest, cache, server.url, capsys)
    assert code == 0, out
    assert server.total - before >= len(damaged)  # fetched again, checked again
    assert "is damaged; fetching it again" in out
    assert victim.read_bytes() == original and fetch.check_folder(dest) is None


def test_a_folder_that_cannot_be_restored_stays_as_it_was_and_the_error_names_the_file(server, tmp_path, capsys):
    spec, dest, cache = laid_out(server, tmp_path, capsys)
    victim = some_file(dest)
    victim.unlink()
    shutil.rmtree(cache / "blobs")
    server.files.clear()  # the site is gone
    kept = sorted(p.relative_to(dest) for p in dest.rglob("*"))
    code, out = run_fetch(spec, dest, cache, server.url, capsys)
    assert code == 1
    assert victim.name in out and "HTTP 404" in out
    assert no_partial_left(tmp_path)
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == kept  # as it was, nothing removed
