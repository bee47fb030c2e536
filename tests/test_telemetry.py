"""The telemetry stack of docs/services.md, under mocks: Prometheus, Alertmanager and
Grafana, what each runs, and that Prometheus scrapes exactly what runs."""

import json

import pytest
import yaml

from harness import PROJECT_DIR, check_services, is_secret, run_program

RESOURCES = PROJECT_DIR / "resources"
OTHERS = ["kpow", "flex", "analytics", "pinot", "lineage"]
KPOW_JOBS = {"kpow": "/metrics/v1", "kpow_offsets": "/offsets/v1", "kpow_group_offsets": "/group-offsets/v1"}


def telemetry(*others, **more) -> dict[str, str]:
    return {"stacks": json.dumps([*others, "telemetry"]), **more}


def prometheus_yml(run) -> dict:
    return yaml.safe_load(run.files("prometheus")["/etc/prometheus/prometheus.yml"])


def scraped(run) -> dict[str, tuple[str, list[str], str]]:
    """job -> (path, targets, prefix given by its relabelling, or "")."""
    out = {}
    for job in prometheus_yml(run)["scrape_configs"]:
        relabel = job.get("metric_relabel_configs", [])
        prefix = relabel[0]["replacement"].removesuffix("$1") if relabel else ""
        if relabel:
            assert relabel == [{"source_labels": ["__name__"], "regex": "(.*)", "target_label": "__name__",
                                "replacement": f"{prefix}$1"}]
        [static] = job["static_configs"]
        out[job["job_name"]] = (job["metrics_path"], static["targets"], prefix)
    return out


def expected_jobs(run, edition: str) -> dict[str, tuple[str, list[str], str]]:
    """What must be scraped, from the containers that run (written here, not read from the
    program): the telemetry stack itself; Kpow and Flex in the trial edition; Flink's
    reporter on the jobmanager and every taskmanager."""
    running = set(run.containers)
    jobs = {"prometheus": ("/metrics", ["prometheus:9090"], ""),
            "alertmanager": ("/metrics", ["alertmanager:9093"], "")}
    if "kpow" in running and edition == "trial":
        jobs.update({job: (path, ["kpow:3000"], "kpow_") for job, path in KPOW_JOBS.items()})
    if "flex" in running and edition == "trial":
        jobs["flex"] = ("/metrics/v1", ["flex:3000"], "flex_")
    flink = sorted(f"{name}:9249" for name in running if name == "jobmanager" or name.startswith("taskmanager-"))
    if flink:
        jobs["flink"] = ("/metrics", flink, "")
    return jobs


@pytest.fixture(scope="module")
def alone():
    return run_program(telemetry())


def test_the_telemetry_services(alone):
    check_services(alone, [
        ("prometheus", "prom/prometheus:v3.5.0", "prometheus", [("127.0.0.1", 19090, 9090)]),
        ("alertmanager", "prom/alertmanager:v0.28.1", "alertmanager", [("127.0.0.1", 19093, 9093)]),
        ("grafana", "grafana/grafana:12.1.1", "grafana", [("127.0.0.1", 3004, 3000)])])


def test_prometheus(alone):
    prometheus = alone.container("prometheus")
    assert prometheus["command"] == ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
    assert alone.mounts("prometheus")["/prometheus"]["volumeName"] == "prometheus-data"
    assert alone.one("docker:index/volume:Volume", "volume-prometheus-data").retain_on_delete
    assert prometheus["healthcheck"] == {"tests": ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:9090/-/ready"],
                                         "interval": "5s", "timeout": "5s", "retries": 12, "startPeriod": "0s"}
    # its alerts go to Alertmanager, which answers before Prometheus starts
    assert prometheus_yml(alone)["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]}
    assert alone.waits_until_healthy(prometheus, "alertmanager")
    assert prometheus_yml(alone)["global"] == {"scrape_interval": "15s", "evaluation_interval": "15s"}


def test_alertmanager(alone):
    manager = alone.container("alertmanager")
    assert manager["command"] == ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager",
                                  "--cluster.listen-address="]
    assert alone.files("alertmanager") == {
        "/etc/alertmanager/alertmanager.yml": (RESOURCES / "telemetry/alertmanager/alertmanager.yml").read_text()}
    config = yaml.safe_load(alone.files("alertmanager")["/etc/alertmanager/alertmanager.yml"])
    assert config["route"] == {"receiver": "null"} and config["receivers"] == [{"name": "null"}]
    assert manager["healthcheck"]["tests"] == ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:9093/-/ready"]
    assert alone.mounts("alertmanager") == {}


def test_grafana(alone):
    grafana = alone.container("grafana")
    env = alone.env("grafana")
    assert env == {"GF_SECURITY_ADMIN_USER": "admin", "GF_SECURITY_ADMIN_PASSWORD": "admin"}
    assert alone.secret("grafana", "envs")
    assert alone.mounts("grafana")["/var/lib/grafana"]["volumeName"] == "grafana-data"
    assert grafana["healthcheck"]["tests"] == ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:3000/api/health"]
    assert alone.waits_until_healthy(grafana, "prometheus")
    files = alone.files("grafana")
    datasource = yaml.safe_load(files["/etc/grafana/provisioning/datasources/prometheus.yml"])["datasources"]
    assert datasource == [{"name": "Prometheus", "type": "prometheus", "uid": "factorhouse-prometheus", "access": "proxy",
                           "url": "http://prometheus:9090", "isDefault": True, "editable": False}]
    [provider] = yaml.safe_load(files["/etc/grafana/provisioning/dashboards/factorhouse-local.yml"])["providers"]
    assert provider["type"] == "file" and provider["options"] == {"path": "/etc/grafana/dashboards"}
    # nothing of the Kafka or Flink stacks runs: no dashboard of theirs
    assert not [f for f in files if f.startswith("/etc/grafana/dashboards/")]


def test_outputs(alone):
    assert {k: alone.outputs[k] for k in ("prometheusUrl", "alertmanagerUrl", "grafanaUrl")} == {
        "prometheusUrl": "http://127.0.0.1:19090", "alertmanagerUrl": "http://127.0.0.1:19093",
        "grafanaUrl": "http://127.0.0.1:3004"}
    assert set(alone.outputs["services"]) == {"prometheus", "alertmanager", "grafana"}
    assert alone.outputs["services"]["grafana"]["stack"] == "telemetry"
    moved = run_program(telemetry(portOffset="100"))
    assert moved.outputs["grafanaUrl"] == "http://127.0.0.1:3104"
    assert moved.ports("prometheus") == [("127.0.0.1", 19190, 9090)]


# alone, with each other stack, with Kpow and Flex, and with every stack
COMBINATIONS = [(), *((other,) for other in OTHERS), ("kpow", "flex"), tuple(OTHERS)]


@pytest.mark.parametrize("edition", ["trial", "community"])
@pytest.mark.parametrize("others", COMBINATIONS, ids=["+".join(c) or "alone" for c in COMBINATIONS])
def test_prometheus_scrapes_exactly_what_runs(others, edition):
    run = run_program(telemetry(*others, edition=edition))
    jobs = scraped(run)
    assert jobs == expected_jobs(run, edition)
    # never a target that is not a service that runs
    targets = {t.split(":")[0] for _, found, _ in jobs.values() for t in found}
    assert targets <= set(run.containers)
    # the rules of the scraped products, and no others
    rules = {f"rules/{product}.yml" for product in ("kpow", "flex") if product in jobs}
    assert set(prometheus_yml(run)["rule_files"]) == rules
    files = run.files("prometheus")
    assert {f for f in files if "/rules/" in f} == {f"/etc/prometheus/{r}" for r in rules}
    for rule in rules:
        assert files[f"/etc/prometheus/{rule}"] == (RESOURCES / "telemetry/prometheus" / rule).read_text()
    # the dashboards of what is scraped, and no others
    dashboards = {f.rsplit("/", 1)[1] for f in run.files("grafana") if f.startswith("/etc/grafana/dashboards/")}
    assert dashboards == ({"kafka-cluster.json", "kafka-topics.json", "kafka-consumer-groups.json",
                           "kafka-connect.json"} if "kpow" in jobs else set()) | (
        {"flink-cluster.json"} if "flink" in jobs else set())


@pytest.mark.parametrize("profile", ["full", "lite"])
def test_the_flink_targets_follow_the_profile(profile):
    run = run_program(telemetry("flex", profile=profile))
    taskmanagers = 1 if profile == "lite" else 3
    assert scraped(run)["flink"][1] == ["jobmanager:9249"] + [f"taskmanager-{n}:9249" for n in range(1, taskmanagers + 1)]


def test_kpow_and_flex_serve_prometheus_only_when_it_scrapes_them():
    egress = {"PROMETHEUS_EGRESS": "true", "PROMETHEUS_LABEL_ENV": "true"}
    for product in ("kpow", "flex"):
        watched = run_program(telemetry("kpow", "flex")).env(product)
        assert {k: watched[k] for k in egress} == egress
        for config in ({"stacks": json.dumps(["kpow", "flex"])}, telemetry("kpow", "flex", edition="community")):
            assert not set(egress) & set(run_program(config).env(product)), (product, config)


def test_the_telemetry_stack_changes_nothing_of_flink():
    # the reporter is always on: adding telemetry replaces no Flink container
    without, with_it = run_program({"stacks": json.dumps(["flex"])}), run_program(telemetry("flex"))
    for name in ("jobmanager", "taskmanager-1", "sql-gateway"):
        assert with_it.container(name).inputs == without.container(name).inputs


def test_the_rules_are_upstreams():
    kpow = yaml.safe_load((RESOURCES / "telemetry/prometheus/rules/kpow.yml").read_text())
    flex = yaml.safe_load((RESOURCES / "telemetry/prometheus/rules/flex.yml").read_text())
    exprs = {r["alert"]: (r["expr"], r["for"]) for group in (kpow, flex) for g in group["groups"] for r in g["rules"]}
    assert exprs == {
        "UnhealthyConsumer": ("kpow_group_state == 0 or kpow_group_state == 1 or kpow_group_state == 2", "5m"),
        "UnhealthyConnectorTask": ("kpow_connect_connector_task_state != 1", "5m"),
        "UnhealthyConnector": ("kpow_connect_connector_state != 1", "5m"),
        "LaggingConsumerGroup": ("kpow_group_offset_lag > 5000", "5m"),
        # upstream's `up == 0 and {job="kpow"}` never matches (`and` needs the same labels)
        "KpowDown": ('up{job="kpow"} == 0', "1m"),
        "FlinkJobFailed": ("increase(flex_flink_jobs_failed[5m]) > 0", "1m"),
        "FlinkTaskManagerHighHeapUsage": ("(flex_flink_taskmanager_heap_used / flex_flink_taskmanager_heap_max) * 100 > 90",
                                          "10m"),
        "FlinkNoJobsRunning": ("flex_flink_jobs_running == 0", "5m"),
        "FlinkNoAvailableSlots": ("flex_flink_taskmanagers_slots_available == 0", "15m"),
        "FlexDown": ('up{job="flex"} == 0', "1m"),
    }


def test_the_grafana_password_is_a_secret():
    run = run_program(telemetry(grafanaPassword="g-S3cret-4711"), secret_keys=("grafanaPassword",))
    assert run.env("grafana")["GF_SECURITY_ADMIN_PASSWORD"] == "g-S3cret-4711"
    assert is_secret(run.container("grafana").raw["envs"])
    for r in run.registrations:
        if "g-S3cret-4711" in json.dumps(r.inputs):
            assert r.name == "grafana" and is_secret(r.raw["envs"]), r.name


def test_telemetry_is_made_after_every_other_stack():
    # it reads what the others run: made last, whatever their order in `stacks`, so that
    # it scrapes them (the order components reach the mocks' monitor is not fixed: what
    # telemetry scrapes is what tells)
    from stacks import BUILD_ORDER
    assert BUILD_ORDER[-1] == "telemetry"
    run = run_program({"stacks": json.dumps(["telemetry", "flex", "kpow"])})
    assert run.outputs["stacks"] == ["kpow", "flex", "telemetry"]
    assert scraped(run) == expected_jobs(run, "trial")
    assert {"kpow", "flex", "flink"} <= set(scraped(run))