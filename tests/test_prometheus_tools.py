"""The telemetry stack's files checked by the real tools (Debian's packages `prometheus`
and `prometheus-alertmanager`): Prometheus's configuration and rules by `promtool`,
Alertmanager's by `amtool`, every dashboard query parsed as PromQL and naming only the
metrics docs/services.md lists; and a real Prometheus and Alertmanager on loopback: the
program's scrape job stores a local endpoint's metric under its prefix, a rule on it fires,
and Alertmanager receives the alert.

Without the tools these tests skip, saying why; with FHL_REQUIRE_DOCKER=1 (as .ci/run sets)
they fail instead."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

import engine
from harness import PROJECT_DIR, run_program

DASHBOARDS = PROJECT_DIR / "resources/telemetry/grafana/dashboards"
SERVICES_DOC = (PROJECT_DIR / "docs/services.md").read_text()
DEADLINE = 60  # seconds a real Prometheus and Alertmanager get for what is awaited


def tool(name: str, package: str) -> str:
    """The path of a command of a Debian package; skips (fails under FHL_REQUIRE_DOCKER=1)
    without it."""
    path = shutil.which(name)
    engine.need(None if path else f"no {name} on PATH (apt-get install {package})", name)
    return path


def check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def prometheus_folder(run, folder: Path) -> Path:
    """The files the program gives Prometheus, laid out as in its container."""
    for path, text in run.files("prometheus").items():
        target = folder / Path(path).relative_to("/etc/prometheus")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return folder / "prometheus.yml"


CASES = {
    "telemetry alone": {"stacks": json.dumps(["telemetry"])},
    "every stack, trial": {"stacks": json.dumps(["kpow", "flex", "analytics", "pinot", "telemetry", "lineage"])},
    "kpow and flex, community, lite": {"stacks": json.dumps(["kpow", "flex", "telemetry"]), "edition": "community",
                                       "profile": "lite"},
}


@pytest.mark.parametrize("case", CASES)
def test_promtool_checks_the_configuration_and_its_rules(case, tmp_path):
    promtool = tool("promtool", "prometheus")
    run = run_program(CASES[case])
    config = prometheus_folder(run, tmp_path)
    result = check(promtool, "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    rules = yaml.safe_load(config.read_text())["rule_files"]
    assert (f"SUCCESS: {len(rules)} rule files found" in result.stdout) == bool(rules), result.stdout
    for job in yaml.safe_load(config.read_text())["scrape_configs"]:
        # the targets as Prometheus's own discovery and relabelling make them (static
        # targets are found at once; the tool waits for its whole timeout)
        found = json.loads(check(promtool, "check", "service-discovery", "--timeout=1s", str(config),
                                 job["job_name"]).stdout)
        assert sorted(t["labels"]["instance"] for t in found) == job["static_configs"][0]["targets"]
        assert {t["labels"]["__metrics_path__"] for t in found} == {job["metrics_path"]}


def test_promtool_checks_every_rules_file():
    promtool = tool("promtool", "prometheus")
    for path in sorted((PROJECT_DIR / "resources/telemetry/prometheus/rules").glob("*.yml")):
        result = check(promtool, "check", "rules", str(path))
        assert result.returncode == 0 and "SUCCESS: 5 rules found" in result.stdout, result.stdout + result.stderr


def test_amtool_checks_alertmanagers_configuration(tmp_path):
    amtool = tool("amtool", "prometheus-alertmanager")
    config = tmp_path / "alertmanager.yml"
    config.write_text(run_program(CASES["telemetry alone"]).files("alertmanager")["/etc/alertmanager/alertmanager.yml"])
    result = check(amtool, "check-config", str(config))
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_the_checks_fail_on_broken_files(tmp_path):
    # the tools are not fooled: a broken expression and a route to no receiver fail
    promtool, amtool = tool("promtool", "prometheus"), tool("amtool", "prometheus-alertmanager")
    rules = tmp_path / "rules.yml"
    rules.write_text(dashboard_rules(["sum(kpow_broker_count"]))
    assert check(promtool, "check", "rules", str(rules)).returncode != 0
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: nowhere\nreceivers:\n  - name: 'null'\n")
    assert check(amtool, "check-config", str(config)).returncode != 0


# -- the dashboards ---------------------------------------------------------------------

# Grafana's variables, as they expand: a regex of the chosen values, or a duration
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
            "inf", "nan"}


def expand(query: str) -> str:
    """A dashboard query as Grafana sends it: its variables replaced (a chosen value list
    becomes the regex `.*`)."""
    for name, value in GRAFANA_VARIABLES.items():
        query = query.replace(name, value)
    return re.sub(r"\$\{?\w+\}?", ".*", query)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: its identifiers that are not functions
    or aggregations (followed by `(`), keywords, label names (inside `{}` or after
    by/without/on/ignoring/group_*) or parts of numbers and durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][\w:]*", text):
        if text[match.end():].lstrip().startswith("(") or match.group(0).lower() in KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def test_metric_names_are_read_from_promql():
    assert metric_names('sum by (target) (kpow_group_offset_lag{target=~"a|b", env="x"})') == {"kpow_group_offset_lag"}
    assert metric_names("increase(flex_flink_jobs_failed[5m]) > 0") == {"flex_flink_jobs_failed"}
    assert metric_names("(a_used / a_max) * 100 > 90 and on (job) up offset 5m") == {"a_used", "a_max", "up"}
    assert metric_names('count(x{state="Stable"} < 5 unless y) + 1e3') == {"x", "y"}
    assert metric_names('max by (job_name, task_name) (rate(z_total[$__rate_interval]))') == {"z_total"}


def dashboard_queries() -> dict[str, list[str]]:
    """Dashboard file -> every query it sends: its panels' and its variables' (the metric
    selector of `label_values(selector, label)`), expanded."""
    out = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            selector = re.fullmatch(r"label_values\((.+),\s*\w+\)", query)
            assert selector, (path.name, query)
            queries.append(selector.group(1))
        out[path.name] = [expand(q) for q in queries]
    return out


def dashboard_rules(queries: list[str]) -> str:
    """A rules file with one recording rule per query: `promtool check rules` parses each."""
    rules = [{"record": f"dashboard:query_{i}", "expr": q} for i, q in enumerate(queries)]
    return yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]})


def listed_metrics() -> set[str]:
    """The metrics docs/services.md lists (its table of metrics and their sources)."""
    section = SERVICES_DOC.split("### Metrics", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([\w:]+)` \|", section, re.M))


def test_every_dashboard_query_parses_as_promql(tmp_path):
    promtool = tool("promtool", "prometheus")
    queries = [q for found in dashboard_queries().values() for q in found]
    assert len(queries) > 40
    rules = tmp_path / "dashboards.yml"
    rules.write_text(dashboard_rules(queries))
    result = check(promtool, "check", "rules", str(rules))
    assert result.returncode == 0 and f"SUCCESS: {len(queries)} rules found" in result.stdout, \
        result.stdout + result.stderr


def test_dashboards_and_rules_name_only_listed_metrics():
    listed = listed_metrics()
    assert {"up", "kpow_group_offset_lag", "flink_jobmanager_numRunningJobs"} <= listed
    for name, queries in dashboard_queries().items():
        for query in queries:
            assert metric_names(query) <= listed, (name, query, metric_names(query) - listed)
    for path in sorted((PROJECT_DIR / "resources/telemetry/prometheus/rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                assert metric_names(rule["expr"]) <= listed, (path.name, rule["alert"])


def test_the_dashboards_read_the_provisioned_datasource():
    uids = set()
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] not in uids and "id" not in dashboard, path.name
        uids.add(dashboard["uid"])
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "factorhouse-prometheus"}, panel["title"]
                assert panel["targets"] and panel.get("description"), panel["title"]


# -- a real Prometheus and Alertmanager on loopback ---------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter(ThreadingHTTPServer):
    """Serves one page of metrics in Prometheus's exposition format at one path."""

    def __init__(self, path: str, page: str):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                found = self.path == path
                body = page.encode() if found else b"not found\n"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


def get_json(url: str) -> dict | list:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


def await_value(what: str, read, deadline: float = DEADLINE):
    """read() until it returns something, at most `deadline` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            value = read()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} within {deadline} s")


def started(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def test_a_real_prometheus_scrapes_the_programs_job_and_alertmanager_receives_its_alert(tmp_path):
    prometheus = tool("prometheus", "prometheus")
    alertmanager = tool("prometheus-alertmanager", "prometheus-alertmanager")  # Debian's name
    run = run_program({"stacks": json.dumps(["kpow", "telemetry"])})
    config = yaml.safe_load(prometheus_folder(run, tmp_path / "prometheus").read_text())
    exporter = Exporter("/group-offsets/v1", "# TYPE group_offset_lag gauge\n"
                                             'group_offset_lag{target="orders",id="local"} 6000\n')
    exporter.thread.start()
    # the program's job and alerting, pointed at this machine's loopback; the program's
    # rules, and one that fires at once on the same metric
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "kpow_group_offsets"]
    job["static_configs"] = [{"targets": [exporter.address]}]
    manager_port = free_port()
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{manager_port}"]}]
    config.update({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "scrape_configs": [job]})
    (tmp_path / "prometheus/rules/now.yml").write_text(yaml.safe_dump({"groups": [{"name": "now", "rules": [
        {"alert": "LaggingNow", "expr": "kpow_group_offset_lag > 5000"}]}]}))
    config["rule_files"].append("rules/now.yml")
    (tmp_path / "prometheus/prometheus.yml").write_text(yaml.safe_dump(config))
    manager_config = tmp_path / "alertmanager.yml"
    manager_config.write_text(run.files("alertmanager")["/etc/alertmanager/alertmanager.yml"])
    prometheus_port = free_port()
    processes = []
    try:
        processes.append(started([alertmanager, f"--config.file={manager_config}", f"--storage.path={tmp_path / 'am'}",
                                  f"--web.listen-address=127.0.0.1:{manager_port}", "--cluster.listen-address="],
                                 tmp_path / "alertmanager.log"))
        processes.append(started([prometheus, f"--config.file={tmp_path / 'prometheus/prometheus.yml'}",
                                  f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                  f"--web.listen-address=127.0.0.1:{prometheus_port}"], tmp_path / "prometheus.log"))
        query = urllib.parse.quote('kpow_group_offset_lag{job="kpow_group_offsets", target="orders"}')
        result = await_value("Prometheus stored kpow_group_offset_lag", lambda: get_json(
            f"http://127.0.0.1:{prometheus_port}/api/v1/query?query={query}")["data"]["result"])
        assert [r["value"][1] for r in result] == ["6000"]
        # the metric reached Prometheus under the prefix only
        bare = get_json(f"http://127.0.0.1:{prometheus_port}/api/v1/query?query=group_offset_lag")["data"]["result"]
        assert bare == []
        alerts = await_value("Alertmanager received LaggingNow", lambda: [
            a for a in get_json(f"http://127.0.0.1:{manager_port}/api/v2/alerts")
            if a["labels"]["alertname"] == "LaggingNow"])
        assert alerts[0]["labels"]["target"] == "orders" and alerts[0]["status"]["state"] == "active"
    finally:
        for process in processes:
            engine.stop(process)
        exporter.shutdown()
        exporter.server_close()
