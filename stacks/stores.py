"""Store stacks (docs/services.md, Stores): ClickHouse (`clickhouse`), StarRocks's
frontend and backend with the one-shot that registers the backend (`starrocks`), and
CloudBeaver, which runs when either does, with connections to the stores that run and
to nothing else."""

from __future__ import annotations

import json

import pulumi

from .analytics import s3_credentials
from .platform import Platform
from .service import File, HealthCheck, Service, curl_check
from settings import Settings

CLICKHOUSE = "ch-server"
CLICKHOUSE_HTTP_PORT = 8123
FRONTEND = "starrocks-fe"
QUERY_PORT = 9030  # the frontend's MySQL protocol port
BACKEND = "starrocks-be"
HEARTBEAT_PORT = 9050  # the backend's heartbeat port, by which the frontend knows it
# how long the registration waits for the frontend to see the backend alive
ALIVE_SECONDS = 120
CLOUDBEAVER = "cloudbeaver"
CLOUDBEAVER_HOME = "/opt/cloudbeaver"
CLOUDBEAVER_ADMIN = "cbadmin"


def clickhouse_service(s: Settings) -> Service:
    """ClickHouse 25.6 with the configuration and users of resources/stores/clickhouse;
    the password of its user `default` is the `clickhousePassword` setting, which the
    image's entrypoint writes into users.d/ (CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT)."""
    return Service(
        name=CLICKHOUSE,
        container="ch_server",
        image=s.images["clickhouse"],
        ports=((CLICKHOUSE_HTTP_PORT, 8123), (29000, 9000)),  # HTTP API, native protocol
        env={"CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT": "1", "CLICKHOUSE_PASSWORD": s.clickhouse_password},
        files=(
            File("/etc/clickhouse-server/config.xml", "stores/clickhouse/config.xml"),
            File("/etc/clickhouse-server/users.xml", "stores/clickhouse/users.xml"),
        ),
        data=(("clickhouse-data", "/var/lib/clickhouse"),),
        # upstream has none: the server answers its HTTP /ping (busybox's wget, as the
        # image's own entrypoint asks it)
        healthcheck=HealthCheck(("CMD", "wget", "--spider", "-q", "http://127.0.0.1:8123/ping"),
                                interval=5, timeout=3, retries=12),
        restart="on-failure",
    )


def frontend_service(platform: Platform) -> Service:
    """StarRocks's frontend, as upstream runs it: as root, known by its name (FQDN), with
    the MinIO credentials for S3 when the analytics stack runs. Its metadata lives in a
    kept volume, and it records its own host name there: a fixed one, so that a new
    container finds itself in its metadata."""
    s = platform.settings
    return Service(
        name=FRONTEND,
        container="starrocks-fe",
        image=s.images["starrocks-fe"],
        ports=((8030, 8030), (9020, 9020), (QUERY_PORT, QUERY_PORT)),  # web UI, RPC, MySQL protocol
        command=("bash", "/opt/starrocks/fe/bin/start_fe.sh", "--host_type", "FQDN"),
        env=s3_credentials(platform) if s.runs("analytics") else {},
        data=(("starrocks-fe-meta", "/opt/starrocks/fe/meta"),),
        healthcheck=HealthCheck(
            ("CMD-SHELL", f'mysql -u root -h {FRONTEND} -P {QUERY_PORT} -e "SHOW FRONTENDS\\G" |grep "Alive: true"'),
            interval=10, timeout=5, retries=3),
        user=0,
        hostname=FRONTEND,
    )


def backend_service(s: Settings, frontend_id: pulumi.Input[str]) -> Service:
    """StarRocks's backend, as root, once the frontend is healthy: upstream's data cache
    settings, then the backend (resources/stores/starrocks/start-be.sh). Its check means
    "answers" (its HTTP /api/health): upstream's ("the frontend sees it alive") holds only
    once it is registered, which the one-shot does after it started. Made anew with a new
    frontend: a backend keeps the cluster id of the frontend it first joined, and a
    frontend without kept metadata (persistData false) has a new one."""
    return Service(
        name=BACKEND,
        container="starrocks-be",
        image=s.images["starrocks-be"],
        ports=((8040, 8040),),  # web server
        command=("/bin/bash", "/opt/starrocks/factorhouse/start-be.sh"),
        env={"HOST_TYPE": "FQDN"},
        files=(File("/opt/starrocks/factorhouse/start-be.sh", "stores/starrocks/start-be.sh"),),
        data=(("starrocks-be-storage", "/opt/starrocks/be/storage"),),
        healthcheck=curl_check("http://localhost:8040/api/health", interval=10, timeout=5, retries=3),
        depends_on={FRONTEND: "healthy"},
        user=0,
        replace_when=(frontend_id,),
    )


def register_service(s: Settings, replace_when: tuple[pulumi.Input[str], ...]) -> Service:
    """The one-shot that registers the backend with the frontend once the frontend is
    healthy and the backend started, with the frontend image's mysql client
    (resources/stores/starrocks-register/register-backend.sh): it adds the backend only
    when the frontend does not list it, then waits until the frontend sees it alive."""
    return Service(
        name="starrocks-register",
        container="starrocks-register",
        image=s.images["starrocks-fe"],
        entrypoint=("/bin/sh", "/setup/register-backend.sh"),
        env={"FRONTEND": FRONTEND, "QUERY_PORT": str(QUERY_PORT), "BACKEND": f"{BACKEND}:{HEARTBEAT_PORT}",
             "ALIVE_SECONDS": str(ALIVE_SECONDS)},
        files=(File("/setup", "stores/starrocks-register"),),
        depends_on={FRONTEND: "healthy", BACKEND: "started"},
        one_shot=True,
        # a new frontend (without kept metadata) or backend: it runs again, and adds
        # the backend only where the frontend lacks it
        replace_when=replace_when,
    )


def connection(provider: str, driver: str, name: str, host: str, port: int, database: str, url: str, user: str,
               password: str) -> dict:
    """A connection of CloudBeaver's data-sources.json, with its credentials (CloudBeaver
    moves them into its encrypted store on first use)."""
    return {
        "provider": provider, "driver": driver, "name": name, "save-password": True,
        "configuration": {
            "host": host, "port": str(port), "database": database, "url": url,
            "configurationType": "MANUAL", "type": "dev",
            "auth-model": "native", "auth-properties": {"userName": user, "userPassword": password},
        },
    }


def connections(s: Settings, clickhouse_password: str) -> dict[str, dict]:
    """CloudBeaver's connections, by id: one per store that runs, and nothing else."""
    out = {}
    if s.runs("clickhouse"):
        out["clickhouse"] = connection(
            "clickhouse", "com_clickhouse", "ClickHouse", CLICKHOUSE, CLICKHOUSE_HTTP_PORT, "default",
            f"jdbc:clickhouse://{CLICKHOUSE}:{CLICKHOUSE_HTTP_PORT}/default", "default", clickhouse_password)
    if s.runs("starrocks"):
        # StarRocks speaks MySQL's protocol: CloudBeaver's MySQL 8 driver
        out["starrocks"] = connection(
            "mysql", "mysql8", "StarRocks", FRONTEND, QUERY_PORT, "", f"jdbc:mysql://{FRONTEND}:{QUERY_PORT}/",
            "root", "")
    return out


def data_sources(s: Settings) -> pulumi.Output[str]:
    """CloudBeaver's data-sources.json (a secret: it holds ClickHouse's password)."""
    return s.clickhouse_password.apply(
        lambda password: json.dumps({"folders": {}, "connections": connections(s, password)}, indent=2) + "\n")


def initial_data(s: Settings) -> pulumi.Output[str]:
    """CloudBeaver's initial-data.conf: its administrator (upstream's name, the
    `cloudbeaverPassword` setting) and teams, read when its workspace is new."""
    teams = [
        {"subjectId": "admin", "teamName": "Administrator", "description": "Administrative access",
         "permissions": ["admin"]},
        {"subjectId": "user", "teamName": "User", "description": "Standard user access", "permissions": []},
    ]
    return s.cloudbeaver_password.apply(lambda password: json.dumps(
        {"adminName": CLOUDBEAVER_ADMIN, "adminPassword": password, "teams": teams}, indent=2) + "\n")


def cloudbeaver_service(s: Settings) -> Service:
    """CloudBeaver: upstream's server configuration, its administrator and connections
    made from the settings and the stacks that run; its workspace (users, saved scripts,
    the administrator made on its first start) in a kept volume, the connections
    provisioned anew whenever the container is made."""
    return Service(
        name=CLOUDBEAVER,
        container="cloudbeaver",
        image=s.images["cloudbeaver"],
        ports=((8978, 8978),),
        env={"CB_SERVER_URL": "1"},
        # the connections copied into the workspace at start, where CloudBeaver may write
        # them (a file of its own on every engine, never a read-only mount), then the
        # image's entrypoint (resources/stores/cloudbeaver/start.sh)
        entrypoint=("/bin/sh", f"{CLOUDBEAVER_HOME}/conf/provision/start.sh"),
        files=(
            File(f"{CLOUDBEAVER_HOME}/conf/cloudbeaver.conf", "stores/cloudbeaver/cloudbeaver.conf"),
            File(f"{CLOUDBEAVER_HOME}/conf/initial-data.conf", content=initial_data(s), secret=True),
            File(f"{CLOUDBEAVER_HOME}/conf/provision/start.sh", "stores/cloudbeaver/start.sh"),
            File(f"{CLOUDBEAVER_HOME}/conf/provision/data-sources.json", content=data_sources(s), secret=True),
        ),
        data=(("cloudbeaver-workspace", f"{CLOUDBEAVER_HOME}/workspace"),),
        # upstream has none: its web server answers
        healthcheck=curl_check("http://localhost:8978/", interval=10, timeout=5, retries=12),
    )


def cloudbeaver_outputs(s: Settings) -> dict[str, str]:
    return {"cloudbeaverUrl": s.url(8978)}


class ClickHouseStack(pulumi.ComponentResource):
    """ClickHouse, and CloudBeaver (shared with the StarRocks stack)."""

    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:ClickHouse", "clickhouse", None, opts)
        s = platform.settings
        platform.run(clickhouse_service(s), self)
        platform.shared(cloudbeaver_service(s))
        self.outputs = {"clickhouseUrl": s.url(CLICKHOUSE_HTTP_PORT),
                        "clickhouseNativeAddress": f"{s.host_address}:{s.port(29000)}",
                        # the login `make check` asks with (docs/check.md); the password a secret
                        "clickhouseUser": "default", "clickhousePassword": s.clickhouse_password,
                        **cloudbeaver_outputs(s)}
        self.register_outputs(self.outputs)


class StarRocksStack(pulumi.ComponentResource):
    """StarRocks's frontend and backend, the backend's registration, and CloudBeaver
    (shared with the ClickHouse stack)."""

    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:StarRocks", "starrocks", None, opts)
        s = platform.settings
        frontend = platform.run(frontend_service(platform), self)
        backend = platform.run(backend_service(s, frontend.id), self)
        platform.run(register_service(s, (frontend.id, backend.id)), self)
        platform.shared(cloudbeaver_service(s))
        self.outputs = {"starrocksUrl": s.url(8030),
                        "starrocksSqlAddress": f"{s.host_address}:{s.port(QUERY_PORT)}",
                        "starrocksBackendUrl": s.url(8040),
                        # for `make check` (docs/check.md): the login (no password, as upstream) and
                        # the backend the registration adds, as the frontend lists it
                        "starrocksUser": "root", "starrocksBackends": [f"{BACKEND}:{HEARTBEAT_PORT}"],
                        **cloudbeaver_outputs(s)}
        self.register_outputs(self.outputs)
