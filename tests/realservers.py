"""Real servers on loopback for the tests of `make check`, not protocol mocks:

- Kafka: one KRaft node (broker and controller) of Apache Kafka 3.9.1, its jars from Maven
  Central (verified by their .sha1, cached in ~/.cache/factorhouse-local-tests by
  scripts/fetch.py) on the machine's Java (Debian's openjdk-17-jre-headless). It has two
  client listeners: one advertises the address it listens at, the other an address where
  nothing listens (the most reported failure of Kafka in containers).
- ZooKeeper 3.8.4, from the same jars (Kafka 3.9 still carries it).
- Postgres from Debian's packages: a throwaway cluster (initdb, pg_ctl) in a temporary
  folder on a loopback port, run as `nobody` when the tests run as root (Postgres refuses
  root), with the platform's user, database and password.

- Redis (`redis-server`), Prometheus and Alertmanager (`prometheus`,
  `prometheus-alertmanager`) from Debian's packages, each on a loopback port in a
  temporary folder (`DebianServer`).

Each `problem()` says why it cannot run here (no java, no initdb); the tests then skip,
or fail under FHL_REQUIRE_DOCKER=1 (tests/engine.py `need`).
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

from engine import free_port, stop
from engines.steps import maven_url
from scripts.fetch import lay_out

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "factorhouse-local-tests"

# The runtime classpath Maven resolves for org.apache.kafka:kafka_2.13:3.9.1 (compile and
# runtime scopes, exclusions and dependency management applied).
KAFKA_JARS = (
    "org.apache.kafka:kafka_2.13:3.9.1", "org.apache.kafka:kafka-clients:3.9.1",
    "org.apache.kafka:kafka-server-common:3.9.1", "org.apache.kafka:kafka-group-coordinator-api:3.9.1",
    "org.apache.kafka:kafka-group-coordinator:3.9.1", "org.apache.kafka:kafka-transaction-coordinator:3.9.1",
    "org.apache.kafka:kafka-metadata:3.9.1", "org.apache.kafka:kafka-storage-api:3.9.1",
    "org.apache.kafka:kafka-tools-api:3.9.1", "org.apache.kafka:kafka-raft:3.9.1",
    "org.apache.kafka:kafka-storage:3.9.1", "org.apache.kafka:kafka-server:3.9.1",
    "org.scala-lang:scala-library:2.13.15", "org.scala-lang:scala-reflect:2.13.15",
    "org.scala-lang.modules:scala-collection-compat_2.13:2.10.0",
    "org.scala-lang.modules:scala-java8-compat_2.13:1.0.2", "com.typesafe.scala-logging:scala-logging_2.13:3.9.5",
    "net.sourceforge.argparse4j:argparse4j:0.7.0", "net.sf.jopt-simple:jopt-simple:5.0.4",
    "commons-validator:commons-validator:1.7", "commons-beanutils:commons-beanutils:1.9.4",
    "commons-digester:commons-digester:2.1", "commons-logging:commons-logging:1.2",
    "commons-collections:commons-collections:3.2.2", "commons-io:commons-io:2.14.0", "commons-cli:commons-cli:1.4",
    "com.fasterxml.jackson.core:jackson-databind:2.16.2", "com.fasterxml.jackson.core:jackson-annotations:2.16.2",
    "com.fasterxml.jackson.core:jackson-core:2.16.2", "com.fasterxml.jackson.module:jackson-module-scala_2.13:2.16.2",
    "com.fasterxml.jackson.dataformat:jackson-dataformat-csv:2.16.2",
    "com.fasterxml.jackson.datatype:jackson-datatype-jdk8:2.16.2", "com.thoughtworks.paranamer:paranamer:2.8",
    "org.bitbucket.b_c:jose4j:0.9.4", "com.yammer.metrics:metrics-core:2.2.0",
    "io.dropwizard.metrics:metrics-core:4.1.12.1", "org.slf4j:slf4j-api:1.7.36",
    "org.apache.zookeeper:zookeeper:3.8.4", "org.apache.zookeeper:zookeeper-jute:3.8.4",
    "org.apache.yetus:audience-annotations:0.12.0", "com.github.luben:zstd-jni:1.5.6-4", "org.lz4:lz4-java:1.8.0",
    "org.xerial.snappy:snappy-java:1.1.10.5", "org.pcollections:pcollections:4.0.1",
    "com.github.ben-manes.caffeine:caffeine:2.9.3", "com.google.errorprone:error_prone_annotations:2.10.0",
    "io.netty:netty-handler:4.1.105.Final", "io.netty:netty-common:4.1.105.Final",
    "io.netty:netty-resolver:4.1.105.Final", "io.netty:netty-buffer:4.1.105.Final",
    "io.netty:netty-transport:4.1.105.Final", "io.netty:netty-codec:4.1.105.Final",
    "io.netty:netty-transport-native-unix-common:4.1.105.Final",
    "io.netty:netty-transport-native-epoll:4.1.105.Final", "io.netty:netty-transport-classes-epoll:4.1.105.Final",
)
CLUSTER_ID = "ZmhsLWNoZWNrLXRlc3RzMQ"  # 22 characters of base64url, as `kafka-storage random-uuid` prints


def java_problem() -> Optional[str]:
    return None if shutil.which("java") else "no java on PATH (apt-get install default-jre-headless)"


def kafka_jars() -> Path:
    """The folder of Kafka's jars, laid out (and checked) from the cache, else from Maven
    Central; one test run at a time lays it out (the cache is the user's, shared by runs)."""
    artifacts = [{"name": c, "url": maven_url(c), "dest": f"{c.split(':')[1]}-{c.split(':')[2]}.jar",
                  "sha1_sidecar": True} for c in KAFKA_JARS]
    folder = CACHE / "kafka-3.9.1"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "kafka-3.9.1.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lay_out({"group": "kafka-3.9.1", "artifacts": artifacts}, folder, CACHE / "downloads", log=lambda line: None)
    return folder


def _wait(until, timeout: float, process: subprocess.Popen, log: Path) -> Optional[str]:
    """None once `until()` holds, else why not (the process ended, or time ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"it exited with {process.returncode}: {log.read_text(errors='replace')[-800:]}"
        if until():
            return None
        time.sleep(0.2)
    return f"it did not answer within {timeout:.0f}s: {log.read_text(errors='replace')[-800:]}"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class JavaServer:
    """A JVM on the Kafka jars, in a temporary folder of its own."""

    def __init__(self, prefix: str):
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.log = self.root / "server.log"
        self.process: Optional[subprocess.Popen] = None

    def run(self, jars: Path, *args: str) -> subprocess.Popen:
        classpath = ":".join(sorted(str(j) for j in jars.glob("*.jar")))
        with open(self.log, "a") as log:
            return subprocess.Popen(["java", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                                     "-cp", classpath, *args], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=self.root)

    @staticmethod
    def problem() -> Optional[str]:
        return java_problem()

    def stop(self) -> None:
        """Kill it (a throwaway: nothing to shut down cleanly) and remove its folder."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class KafkaNode(JavaServer):
    """Broker 1 of a one-node KRaft cluster: `good` listens where it advertises, `wrong`
    advertises `unserved`, a port nothing listens at."""

    def __init__(self):
        super().__init__("fhl-kafka-")
        self.good_port, self.wrong_port, self.controller_port, self.unserved_port = (free_port() for _ in range(4))

    good = property(lambda self: f"127.0.0.1:{self.good_port}")
    wrong = property(lambda self: f"127.0.0.1:{self.wrong_port}")
    unserved = property(lambda self: f"127.0.0.1:{self.unserved_port}")

    def properties(self) -> str:
        return "\n".join([
            "process.roles=broker,controller", "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=GOOD://{self.good},WRONG://{self.wrong},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=GOOD://{self.good},WRONG://{self.unserved}",
            "listener.security.protocol.map=GOOD:PLAINTEXT,WRONG:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=GOOD", "controller.listener.names=CONTROLLER",
            f"log.dirs={self.root / 'data'}", "num.partitions=1", "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0", ""])

    def start(self, jars: Path, timeout: float = 90) -> Optional[str]:
        """Format the node's storage and start it; None once it answers metadata requests."""
        config = self.root / "server.properties"
        config.write_text(self.properties())
        formatted = self.run(jars, "kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c", str(config))
        if formatted.wait(timeout=60) != 0:
            return f"formatting its storage failed: {self.log.read_text(errors='replace')[-800:]}"
        self.process = self.run(jars, "kafka.Kafka", str(config))
        return _wait(self._answers, timeout, self.process, self.log)

    def _answers(self) -> bool:
        from confluent_kafka.admin import AdminClient
        if not _listening(self.good_port):
            return False
        try:
            return 1 in AdminClient({"bootstrap.servers": self.good}).list_topics(timeout=2).brokers
        except Exception:
            return False

    def topics(self) -> set[str]:
        from confluent_kafka.admin import AdminClient
        return set(AdminClient({"bootstrap.servers": self.good}).list_topics(timeout=5).topics)

    def groups(self) -> list:
        from confluent_kafka.admin import AdminClient
        return list(AdminClient({"bootstrap.servers": self.good}).list_consumer_groups().result(10).valid)


class ZooKeeperNode(JavaServer):
    def __init__(self):
        super().__init__("fhl-zookeeper-")
        self.port = free_port()

    address = property(lambda self: f"127.0.0.1:{self.port}")

    def start(self, jars: Path, timeout: float = 60) -> Optional[str]:
        self.process = self.run(jars, "-Dzookeeper.admin.enableServer=false",
                                "org.apache.zookeeper.server.ZooKeeperServerMain", str(self.port),
                                str(self.root / "data"))
        return _wait(lambda: _listening(self.port), timeout, self.process, self.log)


def _started(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "a") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


class DebianServer:
    """A server program of Debian's packages (`program`, from `package`), started in a
    temporary folder of its own on 127.0.0.1."""

    program, package = "", ""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix=f"fhl-{self.program}-"))
        self.log = self.root / "server.log"
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    address = property(lambda self: f"127.0.0.1:{self.port}")
    url = property(lambda self: f"http://127.0.0.1:{self.port}")

    def problem(self) -> Optional[str]:
        return None if shutil.which(self.program) else f"no {self.program} on PATH (apt-get install {self.package})"

    def run(self, *args: str, until=None, timeout: float = 60) -> Optional[str]:
        """Start it; None once `until()` holds (default: its port takes connections)."""
        self.process = _started([shutil.which(self.program), *args], self.log)
        return _wait(until or (lambda: _listening(self.port)), timeout, self.process, self.log)

    def stop(self) -> None:
        stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer(DebianServer):
    """redis-server with a password (as the platform runs it), or none (`password` None)."""

    program, package = "redis-server", "redis-server"

    def __init__(self, password: Optional[str]):
        super().__init__()
        self.password = password

    def start(self) -> Optional[str]:
        secured = ["--requirepass", self.password] if self.password is not None else []
        return self.run("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root), "--save", "",
                        "--appendonly", "no", *secured)


def _answers_http(url: str) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


class AlertmanagerServer(DebianServer):
    """Alertmanager (Debian's prometheus-alertmanager), one instance, no cluster listener,
    with the configuration `config` (the program's)."""

    program, package = "prometheus-alertmanager", "prometheus-alertmanager"

    def start(self, config: str) -> Optional[str]:
        (self.root / "alertmanager.yml").write_text(config)
        return self.run(f"--config.file={self.root / 'alertmanager.yml'}", f"--storage.path={self.root / 'data'}",
                        f"--web.listen-address={self.address}", "--cluster.listen-address=",
                        until=lambda: _answers_http(f"{self.url}/-/ready"))


class PrometheusServer(DebianServer):
    """Prometheus (Debian's package) scraping `jobs` (job name -> its targets, HOST:PORT)
    every second; started once every target was scraped (up or down), so that what the
    check reads does not depend on timing."""

    program, package = "prometheus", "prometheus"

    def start(self, jobs: dict[str, list[str]]) -> Optional[str]:
        import json
        import urllib.request
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "500ms"},
                  "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}
                                     for job, targets in jobs.items()]}
        (self.root / "prometheus.yml").write_text(json.dumps(config))  # YAML reads JSON

        def scraped() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=1) as answer:
                    targets = json.loads(answer.read())["data"]["activeTargets"]
            except (OSError, ValueError, KeyError):
                return False
            return len(targets) == sum(map(len, jobs.values())) and all(t["health"] != "unknown" for t in targets)
        return self.run(f"--config.file={self.root / 'prometheus.yml'}", f"--storage.tsdb.path={self.root / 'tsdb'}",
                        f"--web.listen-address={self.address}", until=scraped)


def postgres_bin() -> Optional[Path]:
    """The folder of Debian's Postgres server programs (initdb, pg_ctl), the newest."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda f: int(Path(f).parent.name))
    return Path(folders[-1]) if folders else None


class PostgresCluster:
    """A throwaway cluster on 127.0.0.1 with a user (the platform's `db_user`, or another:
    Marquez's `marquez`; a password, as scram-sha-256 asks over TCP) and its database
    (`factorhouse`, or another)."""

    def __init__(self, wal_level: str, password: str = "pg-check-pw", user: str = "db_user",
                 database: str = "factorhouse"):
        self.wal_level, self.password = wal_level, password
        self.USER, self.DATABASE = user, database
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="fhl-postgres-"))
        self.data = self.root / "data"
        self.bin = postgres_bin()
        self.owner = "nobody" if os.geteuid() == 0 else None  # Postgres refuses to run as root

    def problem(self) -> Optional[str]:
        if self.bin is None:
            return "no initdb (apt-get install postgresql)"
        if self.owner and shutil.which("runuser") is None:
            return "running as root, and no runuser to run Postgres as nobody"
        return None

    @property
    def dsn(self) -> str:
        from urllib.parse import quote  # the password percent-encoded, as the program's outputs have it
        return f"postgresql://{self.USER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{self.DATABASE}"

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        return subprocess.run([*prefix, str(self.bin / command[0]), *command[1:]], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, cwd=self.root, timeout=120)

    def start(self) -> Optional[str]:
        """initdb, start, make the database; None once it serves, else why not."""
        (self.root / "pw").write_text(self.password + "\n")
        if self.owner:
            account = pwd.getpwnam(self.owner)
            for path in (self.root, self.root / "pw"):
                os.chown(path, account.pw_uid, account.pw_gid)
        made = self._run("initdb", "-D", str(self.data), "-U", self.USER, f"--pwfile={self.root / 'pw'}",
                         "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync")
        if made.returncode != 0:
            return f"initdb failed: {made.stderr.strip()[-500:]}"
        options = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                   f"-c wal_level={self.wal_level} -c fsync=off")
        started = self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w",
                            "-t", "60", "start")
        if started.returncode != 0:
            return f"pg_ctl start failed: {started.stdout.strip()[-300:]} {started.stderr.strip()[-300:]}"
        created = self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", self.USER, self.DATABASE)
        return None if created.returncode == 0 else f"createdb failed: {created.stderr.strip()[-300:]}"

    def env(self) -> dict[str, str]:
        """What a libpq client (psql) needs to log in as the user over TCP."""
        return {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": self.USER,
                "PGPASSWORD": self.password}

    def psql(self, database: str, *args: str) -> str:
        """psql's unaligned output of `args` in `database`; fails the test when psql fails."""
        result = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", database, *args],
                                env=self.env(), capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
