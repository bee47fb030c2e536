"""The store stacks of docs/services.md (ClickHouse, StarRocks, CloudBeaver with
either), under mocks on both engines: each alone and beside every other stack, what each
container runs, its ports, files, data, health and order, the registration one-shot's
order, the credentials as secrets, and the manifests against the Kubernetes schemas."""

import itertools
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from harness import CONTAINER, PROJECT_DIR, resource_files, run_program
from settings import CLOUDBEAVER_PASSWORD_LENGTH, STACKS, SettingsError
from test_kubernetes import (CLAIM, DEPLOYMENT, JOB, PASSWORDS, SECRET, VERSIONS, Pods, docker_view, kubernetes_view,
                             manifests, same_dependencies, assert_valid)

RESOURCES = PROJECT_DIR / "resources"
STORES = ["clickhouse", "starrocks"]
BOTH = {"stacks": json.dumps(STORES)}
# the passwords refused on a cluster (and on an exposed address) when their stacks run
OWN = {**PASSWORDS, "clickhousePassword": "ch-on-k8s", "cloudbeaverPassword": "cb-on-k8s"}
K8S = {"engine": "kubernetes", **OWN}
OTHERS = ["kpow", "flex", "analytics", "pinot"]
STARROCKS = {"starrocks-fe", "starrocks-be", "starrocks-register"}
DATA_SOURCES = "/opt/cloudbeaver/conf/provision/data-sources.json"
INITIAL_DATA = "/opt/cloudbeaver/conf/initial-data.conf"
START = "/opt/cloudbeaver/conf/provision/start.sh"


def stacks(*chosen) -> dict[str, str]:
    return {"stacks": json.dumps(list(chosen))}


@pytest.fixture(scope="module")
def run():
    return run_program(BOTH)


def store_services(chosen) -> set[str]:
    out = set()
    if "clickhouse" in chosen:
        out |= {"ch-server", "cloudbeaver"}
    if "starrocks" in chosen:
        out |= STARROCKS | {"cloudbeaver"}
    return out


# every store selection alone, and beside each other stack and all of them
SELECTIONS = [tuple(stores) + tuple(others) for stores in (["clickhouse"], ["starrocks"], STORES)
              for others in ([], *([o] for o in OTHERS), OTHERS)]


@pytest.mark.parametrize("chosen", SELECTIONS, ids=["+".join(c) for c in SELECTIONS])
def test_each_store_alone_and_with_the_others_runs_its_services_and_cloudbeaver_once(chosen):
    alone = {name for name in run_program(stacks(*[c for c in chosen if c in OTHERS])).containers} \
        if set(chosen) & set(OTHERS) else set()
    run = run_program(stacks(*chosen))
    assert set(run.containers) == alone | store_services(chosen)
    assert len([r for r in run.of_type(CONTAINER) if r.name == "cloudbeaver"]) == 1
    # CloudBeaver's connections: the stores that run, and nothing else
    sources = json.loads(run.files("cloudbeaver")[DATA_SOURCES])
    assert set(sources["connections"]) == {s for s in STORES if s in chosen}
    assert run.outputs["stacks"] == [s for s in STACKS if s in chosen]
    services = run.outputs["services"]
    for name in store_services(chosen) - {"cloudbeaver"}:
        assert services[name]["stack"] == ("clickhouse" if name == "ch-server" else "starrocks")
    assert services["cloudbeaver"]["stack"] == ("clickhouse" if "clickhouse" in chosen else "starrocks")
    assert services["cloudbeaver"]["addresses"] == ["127.0.0.1:8978"]
    # CloudBeaver is the platform's, made once whichever store makes it: the same URN
    [cloudbeaver] = [r for r in run.of_type(CONTAINER) if r.name == "cloudbeaver"]
    assert cloudbeaver.parent.endswith("pulumi:pulumi:Stack::factorhouse-local-dev")


def test_clickhouse(run):
    ch = run.container("ch-server")
    assert run.image_of("ch-server") == "clickhouse/clickhouse-server:25.6-alpine"
    assert ch["name"] == "ch_server"
    assert run.ports("ch-server") == [("127.0.0.1", 8123, 8123), ("127.0.0.1", 29000, 9000)]
    assert run.env("ch-server") == {"CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT": "1", "CLICKHOUSE_PASSWORD": ""}
    assert run.secret("ch-server", "envs")
    assert run.files("ch-server") == {f"/etc/clickhouse-server/{n}": t
                                      for n, t in resource_files("stores/clickhouse").items()}
    assert run.mounts("ch-server")["/var/lib/clickhouse"]["volumeName"] == "clickhouse-data"
    assert ch["healthcheck"] == {"tests": ["CMD", "wget", "--spider", "-q", "http://127.0.0.1:8123/ping"],
                                 "interval": "5s", "timeout": "3s", "retries": 12, "startPeriod": "0s"}
    assert run.gate("ch-server")["create"].endswith(" ch_server")
    assert ch["restart"] == "on-failure"
    assert "user" not in ch.inputs and "hostname" not in ch.inputs
    assert run.depends_on(ch) & set(run.containers) == set()  # nothing to wait for, as upstream


def test_clickhouse_configuration_is_upstreams():
    import xml.etree.ElementTree as ET
    config = ET.parse(RESOURCES / "stores/clickhouse/config.xml").getroot()
    assert (config.findtext("listen_host"), config.findtext("http_port"), config.findtext("tcp_port")) == \
        ("0.0.0.0", "8123", "9000")
    assert config.findtext("path") == "/var/lib/clickhouse/"
    assert config.findtext("interserver_http_host") == "ch-server"
    assert config.findtext("remote_servers/hdx_cluster/shard/replica/host") == "ch-server"
    assert config.find("logger/log").get("remove") == "remove" and config.findtext("logger/console") == "true"
    assert config.findtext("user_directories/users_xml/path") == "users.xml"
    users = ET.parse(RESOURCES / "stores/clickhouse/users.xml").getroot()
    assert [u.tag for u in users.find("users")] == ["default"]  # no api/api, no worker/worker
    assert users.findtext("profiles/default/max_memory_usage") == "10000000000"
    assert users.findtext("profiles/default/log_queries") == "1"
    assert users.findtext("quotas/default/interval/duration") == "3600"


def test_the_starrocks_frontend(run):
    fe = run.container("starrocks-fe")
    assert run.image_of("starrocks-fe") == "starrocks/fe-ubuntu:3.5-latest"
    assert fe["name"] == "starrocks-fe"
    assert run.ports("starrocks-fe") == [("127.0.0.1", 8030, 8030), ("127.0.0.1", 9020, 9020),
                                         ("127.0.0.1", 9030, 9030)]
    assert fe["command"] == ["bash", "/opt/starrocks/fe/bin/start_fe.sh", "--host_type", "FQDN"]
    # as root (upstream's `user: root`), under a host name of its own: it records its name
    # in its kept metadata, and a new container must find itself there
    assert fe["user"] == "0" and fe["hostname"] == "starrocks-fe"
    assert run.env("starrocks-fe") == {}  # no MinIO without the analytics stack
    assert run.mounts("starrocks-fe")["/opt/starrocks/fe/meta"]["volumeName"] == "starrocks-fe-meta"
    assert fe["healthcheck"] == {
        "tests": ["CMD-SHELL", 'mysql -u root -h starrocks-fe -P 9030 -e "SHOW FRONTENDS\\G" |grep "Alive: true"'],
        "interval": "10s", "timeout": "5s", "retries": 3, "startPeriod": "0s"}
    assert fe["restart"] == "no"


def test_the_frontend_reaches_minio_with_the_analytics_stack():
    run = run_program({**stacks("analytics", "starrocks"), "minioUser": "lake", "minioPassword": "s3cret-pw"},
                      secret_keys=("minioPassword",))
    assert run.env("starrocks-fe") == {"AWS_ACCESS_KEY_ID": "lake", "AWS_SECRET_ACCESS_KEY": "s3cret-pw",
                                       "AWS_REGION": "us-east-1"}
    assert run.secret("starrocks-fe", "envs")


def test_the_starrocks_backend(run):
    be = run.container("starrocks-be")
    assert run.image_of("starrocks-be") == "starrocks/be-ubuntu:3.5-latest"
    assert be["name"] == "starrocks-be"
    assert run.ports("starrocks-be") == [("127.0.0.1", 8040, 8040)]
    assert be["command"] == ["/bin/bash", "/opt/starrocks/factorhouse/start-be.sh"]
    assert run.files("starrocks-be") == {
        "/opt/starrocks/factorhouse/start-be.sh": (RESOURCES / "stores/starrocks/start-be.sh").read_text()}
    assert [u["permissions"] for u in be["uploads"]] == ["0755"]
    assert run.env("starrocks-be") == {"HOST_TYPE": "FQDN"}
    assert be["user"] == "0" and "hostname" not in be.inputs
    assert run.mounts("starrocks-be")["/opt/starrocks/be/storage"]["volumeName"] == "starrocks-be-storage"
    assert be["healthcheck"]["tests"] == ["CMD", "curl", "-f", "http://localhost:8040/api/health"]
    # as upstream: once the frontend is healthy; and no sleep, no registration of its own
    assert run.waits_until_healthy(be, "starrocks-fe")
    script = (RESOURCES / "stores/starrocks/start-be.sh").read_text()
    code = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if re.search(r"\b(sleep|mysql|ADD BACKEND)\b", line)]


def test_the_backend_is_registered_by_a_one_shot_once_the_frontend_is_healthy_and_the_backend_started(run):
    register = run.container("starrocks-register")
    # the frontend image's mysql client
    assert run.image_of("starrocks-register") == "starrocks/fe-ubuntu:3.5-latest"
    assert register["entrypoints"] == ["/bin/sh", "/setup/register-backend.sh"]
    assert run.files("starrocks-register") == {
        "/setup/register-backend.sh": (RESOURCES / "stores/starrocks-register/register-backend.sh").read_text()}
    assert run.env("starrocks-register") == {"FRONTEND": "starrocks-fe", "QUERY_PORT": "9030",
                                             "BACKEND": "starrocks-be:9050", "ALIVE_SECONDS": "120"}
    assert register["mustRun"] is False and register["attach"] is True and register.get("restart") == "no"
    waits = run.depends_on(register)
    assert run.waits_until_healthy(register, "starrocks-fe")
    # the backend started: its container, not its health gate
    assert "starrocks-be" in waits and "starrocks-be-healthy" not in waits
    # in its own description too (the replace-when label alone would order it after the
    # backend's container)
    from types import SimpleNamespace
    from stacks.stores import register_service
    described = register_service(SimpleNamespace(images={"starrocks-fe": "fe"}), ())
    assert described.depends_on == {"starrocks-fe": "healthy", "starrocks-be": "started"}
    assert "ports" not in register.inputs
    # a new frontend or backend runs it again; nothing else does
    labels = {l["label"]: l["value"] for l in register["labels"]}
    assert labels["dev.factorhouse.local.replace-when"] == "starrocks-fe-id,starrocks-be-id"
    # CloudBeaver does not wait for it (upstream's waits for nothing)
    assert not run.depends_on(run.container("cloudbeaver")) & set(run.containers)


def test_a_failed_registration_fails_pulumi_up_naming_it_in_one_line():
    said = "starrocks-register: the frontend starrocks-fe:9030 does not answer: ERROR 2003 (HY000)"
    with pytest.raises(Exception) as failed:
        run_program(stacks("starrocks"), exit_codes={"starrocks-register": 1}, logs={"starrocks-register": said})
    assert str(failed.value).startswith(f"starrocks-register exited with code 1; its log ends: {said}. ")
    assert "\n" not in str(failed.value)


def test_cloudbeaver(run):
    cb = run.container("cloudbeaver")
    assert run.image_of("cloudbeaver") == "dbeaver/cloudbeaver:latest"
    assert cb["name"] == "cloudbeaver"
    assert run.ports("cloudbeaver") == [("127.0.0.1", 8978, 8978)]
    assert run.env("cloudbeaver") == {"CB_SERVER_URL": "1"}
    files = run.files("cloudbeaver")
    assert set(files) == {"/opt/cloudbeaver/conf/cloudbeaver.conf", INITIAL_DATA, DATA_SOURCES, START}
    assert files["/opt/cloudbeaver/conf/cloudbeaver.conf"] == \
        (RESOURCES / "stores/cloudbeaver/cloudbeaver.conf").read_text()
    initial = json.loads(files[INITIAL_DATA])
    assert initial["adminName"] == "cbadmin" and initial["adminPassword"] == "admin"
    assert [(t["subjectId"], t["permissions"]) for t in initial["teams"]] == [("admin", ["admin"]), ("user", [])]
    # the files with credentials reach the engine as secrets (the SDK marks the whole
    # property; on Kubernetes they come from a Secret, the rest from a ConfigMap)
    assert run.secret("cloudbeaver", "uploads")
    assert not run.secret("ch-server", "uploads") and not run.secret("starrocks-be", "uploads")
    assert run.mounts("cloudbeaver")["/opt/cloudbeaver/workspace"]["volumeName"] == "cloudbeaver-workspace"
    assert cb["healthcheck"]["tests"] == ["CMD", "curl", "-f", "http://localhost:8978/"]


def test_cloudbeaver_connects_to_each_store_as_it_listens():
    run = run_program({**BOTH, "clickhousePassword": "ch-S3cret"}, secret_keys=("clickhousePassword",))
    connections = json.loads(run.files("cloudbeaver")[DATA_SOURCES])["connections"]
    clickhouse, starrocks = connections["clickhouse"], connections["starrocks"]
    assert (clickhouse["provider"], clickhouse["driver"]) == ("clickhouse", "com_clickhouse")
    assert (starrocks["provider"], starrocks["driver"]) == ("mysql", "mysql8")  # StarRocks speaks MySQL's protocol
    for conn, host, port, user, password in ((clickhouse, "ch-server", "8123", "default", "ch-S3cret"),
                                             (starrocks, "starrocks-fe", "9030", "root", "")):
        config = conn["configuration"]
        assert (config["host"], config["port"]) == (host, port)
        assert f"//{host}:{port}/" in config["url"]
        assert config["auth-model"] == "native" and conn["save-password"] is True
        assert config["auth-properties"] == {"userName": user, "userPassword": password}
    # the same ports as the services listen on inside the network
    assert ("127.0.0.1", 8123, 8123) in run.ports("ch-server")
    assert ("127.0.0.1", 9030, 9030) in run.ports("starrocks-fe")
    assert run.env("ch-server")["CLICKHOUSE_PASSWORD"] == "ch-S3cret"


def test_the_cloudbeaver_password_policy_is_the_settings_check():
    text = (RESOURCES / "stores/cloudbeaver/cloudbeaver.conf").read_text()
    conf = json.loads("\n".join(line for line in text.splitlines() if not line.strip().startswith("//")))
    assert conf["server"]["sm"]["passwordPolicy"]["minLength"] == CLOUDBEAVER_PASSWORD_LENGTH
    assert conf["server"]["serverName"]  # configured: CloudBeaver takes its admin from initial-data.conf
    assert conf["server"]["database"]["initialDataConfiguration"] == "conf/initial-data.conf"
    assert conf["app"]["anonymousAccessEnabled"] is False


def test_store_data_volumes_are_kept(run):
    volumes = {v["name"]: v for v in run.of_type("docker:index/volume:Volume")}
    assert set(volumes) == {"clickhouse-data", "starrocks-fe-meta", "starrocks-be-storage", "cloudbeaver-workspace"}
    assert all(v.retain_on_delete for v in volumes.values())
    assert run_program({**BOTH, "persistData": "false"}).of_type("docker:index/volume:Volume") == []


def test_outputs_give_the_urls():
    run = run_program({**BOTH, "portOffset": "100", "hostAddress": "bigbox.corp"})
    assert {k: v for k, v in run.outputs.items() if k not in ("stacks", "edition", "services", "summary", "engine")} == {
        "clickhouseUrl": "http://bigbox.corp:8223", "clickhouseNativeAddress": "bigbox.corp:29100",
        "starrocksUrl": "http://bigbox.corp:8130", "starrocksSqlAddress": "bigbox.corp:9130",
        "starrocksBackendUrl": "http://bigbox.corp:8140", "cloudbeaverUrl": "http://bigbox.corp:9078",
        # for `make check`: the logins, the backend the registration adds
        "clickhouseUser": "default", "clickhousePassword": "", "starrocksUser": "root",
        "starrocksBackends": ["starrocks-be:9050"]}
    assert run.ports("ch-server")[1] == ("127.0.0.1", 29100, 9000)


def test_the_default_selection_runs_no_store():
    # (that the default plans are unchanged is test_plan.py's, against the recorded plans)
    assert not set(run_program().containers) & (store_services(STORES))


# -- settings --------------------------------------------------------------------------

def refused(config) -> str:
    with pytest.raises(SettingsError) as caught:
        run_program(config)
    assert caught.value.registrations == []
    return str(caught.value)


@pytest.mark.parametrize("chosen, keys", [
    (["clickhouse"], ["clickhousePassword", "cloudbeaverPassword"]),
    (["starrocks"], ["cloudbeaverPassword"]),
    (["kpow"], []),
])
def test_default_store_passwords_are_refused_where_others_reach_them(chosen, keys):
    for config, why in (({"bindAddress": "0.0.0.0"}, "when bindAddress 0.0.0.0 publishes ports to other machines"),
                        ({"engine": "kubernetes"}, "with engine kubernetes")):
        settings = {**stacks(*chosen), **config}
        if not keys:
            run_program(settings)
            continue
        lines = refused(settings).splitlines()
        assert [line.split(":")[0] for line in lines] == [f"invalid config {key}" for key in keys]
        for line, key in zip(lines, keys):
            assert f"the default password is not allowed {why}" in line
            assert f"pulumi config set --secret {key} ..." in line
    own = {"clickhousePassword": "ch-own", "cloudbeaverPassword": "cb-own"}
    run_program({**stacks(*chosen), "bindAddress": "0.0.0.0", **own}, secret_keys=tuple(own))


@pytest.mark.parametrize("config, key, words", [
    ({"clickhousePassword": "a<b"}, "clickhousePassword", ["<", "XML"]),
    ({"clickhousePassword": "a&b]]>c"}, "clickhousePassword", ["& and ]]>", "XML"]),
    ({"cloudbeaverPassword": "abc"}, "cloudbeaverPassword", ["fewer than 4 characters"]),
    ({"cloudbeaverPassword": ""}, "cloudbeaverPassword", ["fewer than 4 characters"]),
])
def test_store_passwords_that_cannot_work_are_refused_in_one_line(config, key, words):
    message = refused({**BOTH, **config})
    assert "\n" not in message and message.startswith(f"invalid config {key}: ")
    for word in words:
        assert word in message


def test_store_passwords_are_secrets():
    run = run_program({**BOTH, "clickhousePassword": "ch-S3cret", "cloudbeaverPassword": "cb-S3cret"},
                      secret_keys=("clickhousePassword", "cloudbeaverPassword"))
    assert run.secret("ch-server", "envs")
    assert json.loads(run.files("cloudbeaver")[INITIAL_DATA])["adminPassword"] == "cb-S3cret"
    for r in run.registrations:
        text = json.dumps(r.inputs)
        if "ch-S3cret" in text or "cb-S3cret" in text:
            # only inside values that reach the engine as secrets
            assert r.name in ("ch-server", "cloudbeaver"), r.name
    assert run.secret("cloudbeaver", "uploads")


# -- Kubernetes ----------------------------------------------------------------------------

K8S_SELECTIONS = [(("clickhouse",), "full"), (("starrocks",), "lite"), (tuple(STORES), "full"),
                  (tuple(STORES) + tuple(OTHERS), "lite")]


def docker_view_as_probes(run) -> dict[str, dict]:
    """docker_view, with a CMD-SHELL check as the probe runs it (the image's shell)."""
    view = docker_view(run)
    for name, container in run.containers.items():
        check = container.get("healthcheck")
        if check and check["tests"][0] == "CMD-SHELL":
            view[name]["check"] = ["/bin/sh", "-c", *check["tests"][1:]]
    return view


@pytest.fixture(scope="module")
def k8s_runs():
    return {case: (run_program({**OWN, **stacks(*case[0]), "profile": case[1]}),
                   run_program({**K8S, **stacks(*case[0]), "profile": case[1]})) for case in K8S_SELECTIONS}


@pytest.mark.parametrize("case", K8S_SELECTIONS, ids=["+".join(c) + f"-{p}" for c, p in K8S_SELECTIONS])
def test_on_kubernetes_every_store_service_runs_what_it_runs_on_docker(k8s_runs, case):
    docker_run, k8s_run = k8s_runs[case]
    on_docker, on_k8s = docker_view_as_probes(docker_run), kubernetes_view(k8s_run)
    assert set(on_k8s) == set(on_docker) >= store_services(case[0])
    for name in on_docker:
        assert on_k8s[name] == on_docker[name], name
    for name, (waits_docker, waits_k8s) in same_dependencies(docker_run, k8s_run).items():
        assert waits_k8s == waits_docker, name


def test_on_kubernetes_the_frontend_runs_as_root_under_its_own_host_name(k8s_runs):
    pods = Pods(k8s_runs[(tuple(STORES), "full")][1])
    fe = pods.pod("starrocks-fe")
    # <hostname>.<subdomain>.<namespace>.svc resolves through its headless Service
    assert fe["hostname"] == "starrocks-fe" and fe["subdomain"] == "starrocks-fe"
    assert pods.container("starrocks-fe")["securityContext"] == {"runAsUser": 0}
    assert pods.container("starrocks-be")["securityContext"] == {"runAsUser": 0}
    assert "hostname" not in pods.pod("starrocks-be") and "subdomain" not in pods.pod("starrocks-be")
    for name in ("ch-server", "cloudbeaver", "starrocks-register"):
        assert "securityContext" not in pods.container(name), name
        assert "hostname" not in pods.pod(name), name


def test_on_kubernetes_the_registration_is_a_job_after_the_frontend_and_backend_are_up(k8s_runs):
    run = k8s_runs[(tuple(STORES), "full")][1]
    pods = Pods(run)
    job = pods.workloads["starrocks-register"]
    assert job.type == JOB and job["spec"]["backoffLimit"] == 0
    workloads = {run.by_urn(u).name for u in job.dependencies if run.by_urn(u).type in (DEPLOYMENT, JOB)}
    assert workloads == {"starrocks-fe", "starrocks-be"}
    # the backend's readiness is its own check ("answers"), never its registration: the
    # Job waits for it, so a check that needed the Job would never pass
    assert pods.container("starrocks-be")["readinessProbe"]["exec"]["command"] == \
        ["curl", "-f", "http://localhost:8040/api/health"]
    assert job["spec"]["template"]["metadata"]["annotations"]["factorhouse.local/replace-when"]


def test_on_kubernetes_store_credentials_are_in_secrets_only(k8s_runs):
    run = k8s_runs[(tuple(STORES), "full")][1]
    pods = Pods(run)
    env = {e["name"]: e for e in pods.container("ch-server")["env"]}
    assert "valueFrom" in env["CLICKHOUSE_PASSWORD"] and pods.env("ch-server")["CLICKHOUSE_PASSWORD"] == "ch-on-k8s"
    for path in (INITIAL_DATA, DATA_SOURCES, "/opt/cloudbeaver/conf/cloudbeaver.conf"):
        [mount] = [m for m in pods.container("cloudbeaver")["volumeMounts"] if m["mountPath"] == path]
        [volume] = [v for v in pods.pod("cloudbeaver")["volumes"] if v["name"] == mount["name"]]
        assert ("secret" in volume) == (path != "/opt/cloudbeaver/conf/cloudbeaver.conf"), path
    assert json.loads(pods.files("cloudbeaver")[INITIAL_DATA])["adminPassword"] == "cb-on-k8s"
    for r in run.registrations:
        text = json.dumps(r.inputs)
        for value in ("ch-on-k8s", "cb-on-k8s"):
            assert value not in text or r.type == SECRET, (r.type, r.name, value)
    claims = {r["metadata"]["name"] for r in run.of_type(CLAIM)}
    assert {"clickhouse-data", "starrocks-fe-meta", "starrocks-be-storage", "cloudbeaver-workspace"} <= claims


@pytest.fixture(scope="module")
def store_manifests(k8s_runs):
    """One of each distinct manifest of the runs of stores alone (tests/test_kubernetes.py
    validates the other stacks')."""
    runs = [k8s_run for (chosen, _), (_, k8s_run) in k8s_runs.items() if set(chosen) <= set(STORES)]
    runs.append(run_program({**K8S, **BOTH, "persistData": "false", "followLatest": "true"}))
    return list({json.dumps(m, sort_keys=True): m for run in runs for m in manifests(run)}.values())


@pytest.mark.parametrize("version", VERSIONS)
def test_store_manifests_validate_against_the_kubernetes_schemas(store_manifests, version):
    assert {m["kind"] for m in store_manifests} >= {"Deployment", "Job", "Service", "ConfigMap", "Secret",
                                                     "PersistentVolumeClaim"}
    assert_valid(store_manifests, version)


def test_every_store_beside_every_stack_plans_on_kubernetes():
    # (on Docker: test_each_store_alone_and_with_the_others_...)
    for pair in itertools.combinations(STACKS, 2):
        if set(pair) & set(STORES):
            pods = Pods(run_program({**K8S, **stacks(*pair)}))
            assert set(pods.workloads) >= store_services(pair), pair


# -- CloudBeaver's start, for real (a stand-in for the image's entrypoint) -------------------

def cloudbeaver_home(tmp_path, run) -> Path:
    """A CloudBeaver home as the container has it: the program's files in place and an
    entrypoint (launch-product.sh) that says it ran, with its arguments."""
    home = tmp_path / "cloudbeaver"
    for target, text in run.files("cloudbeaver").items():
        path = home / Path(target).relative_to("/opt/cloudbeaver")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (home / "launch-product.sh").write_text('#!/bin/sh\necho "launched $*"\n')
    (home / "launch-product.sh").chmod(0o755)
    return home


def start_cloudbeaver(run, home: Path) -> str:
    entrypoint = run.container("cloudbeaver")["entrypoints"]
    script = str(home / Path(entrypoint[1]).relative_to("/opt/cloudbeaver"))
    result = subprocess.run([entrypoint[0], script, "-web-config", "conf/cloudbeaver.conf"],
                            env={**os.environ, "CLOUDBEAVER_HOME": str(home)}, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cloudbeaver_gets_its_connections_as_a_file_it_may_write_kept_across_restarts(tmp_path):
    run = run_program(stacks("clickhouse"))
    home = cloudbeaver_home(tmp_path, run)
    workspace_file = home / "workspace/GlobalConfiguration/.dbeaver/data-sources.json"
    assert start_cloudbeaver(run, home) == "launched -web-config conf/cloudbeaver.conf\n"
    assert json.loads(workspace_file.read_text()) == json.loads(run.files("cloudbeaver")[DATA_SOURCES])
    assert os.access(workspace_file, os.W_OK)
    # CloudBeaver rewrites it (credentials moved to its store); a restart keeps that
    workspace_file.write_text('{"connections": {"clickhouse": {"rewritten": true}}}')
    start_cloudbeaver(run, home)
    assert "rewritten" in workspace_file.read_text()
    # the program's connections change (StarRocks added): they are provisioned anew
    both = run_program(stacks("clickhouse", "starrocks"))
    (home / "conf/provision/data-sources.json").write_text(both.files("cloudbeaver")[DATA_SOURCES])
    start_cloudbeaver(both, home)
    assert set(json.loads(workspace_file.read_text())["connections"]) == {"clickhouse", "starrocks"}


def test_a_new_frontend_makes_the_backend_anew():
    # a backend keeps the cluster id of the frontend it joined: a frontend made anew
    # without kept metadata has another one
    run = run_program(stacks("starrocks"))
    labels = {l["label"]: l["value"] for l in run.container("starrocks-be")["labels"]}
    assert labels["dev.factorhouse.local.replace-when"] == "starrocks-fe-id"
