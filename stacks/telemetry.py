"""Telemetry stack (docs/services.md, Telemetry): Prometheus scraping the metrics
endpoints of the services that run (and nothing else) with the alert rules that go with
them, Alertmanager receiving Prometheus's alerts, and Grafana provisioned with Prometheus
as its datasource and the dashboards whose metrics are scraped.

What is scraped is read from the services made before this stack (`Service.metrics`): a
stack that does not run, or a product whose edition serves no metrics, adds no target.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

import pulumi
import yaml

from .platform import Platform
from .service import File, HealthCheck, Metrics, Service, wget_check
from settings import Settings

PROMETHEUS_CONF = "/etc/prometheus"
ALERTMANAGER = "alertmanager:9093"
GRAFANA_ADMIN = "admin"
SCRAPE_INTERVAL = "15s"  # also the rules' evaluation interval
GRAFANA_DASHBOARDS = "/etc/grafana/dashboards"  # the provider's folder (provisioning/dashboards/)
# each dashboard of resources/telemetry/grafana/dashboards/ -> the scrape job whose
# metrics it shows: provisioned only when that job is scraped
DASHBOARDS = {
    "kafka-cluster.json": "kpow",
    "kafka-topics.json": "kpow",
    "kafka-consumer-groups.json": "kpow",
    "kafka-connect.json": "kpow",
    "flink-cluster.json": "flink",
}


def answers(port: int, path: str) -> HealthCheck:
    """A check that the service answers on `path` (the Prometheus, Alertmanager and
    Grafana images have busybox's wget, no curl), every 5 s for a minute."""
    return wget_check(f"http://localhost:{port}{path}", interval=5, timeout=5, retries=12)


def scrape_jobs(endpoints: Iterable[tuple[str, Metrics]]) -> dict[str, tuple[Metrics, list[str]]]:
    """Job name -> (its endpoint description, its targets `service:port` in name order),
    in job-name order, from (service name, endpoint) pairs. ValueError when two endpoints
    of one job differ in path, prefix or rules."""
    first: dict[str, Metrics] = {}
    targets: dict[str, set[str]] = defaultdict(set)
    for service, metrics in endpoints:
        known = first.setdefault(metrics.job, metrics)
        if (known.path, known.prefix, known.rules) != (metrics.path, metrics.prefix, metrics.rules):
            raise ValueError(f"scrape job {metrics.job}: {service} serves another path, prefix or rules")
        targets[metrics.job].add(f"{service}:{metrics.port}")
    return {job: (first[job], sorted(targets[job])) for job in sorted(first)}


def rule_file(source: str) -> str:
    """Where a rules file of resources/ is in the container, relative to prometheus.yml."""
    return f"rules/{source.rsplit('/', 1)[-1]}"


def prometheus_config(jobs: dict[str, tuple[Metrics, list[str]]]) -> str:
    """prometheus.yml: every job's targets (metric names prefixed where the job says),
    the rules of the scraped jobs, and Alertmanager."""
    scrape = []
    for job, (metrics, targets) in jobs.items():
        config = {"job_name": job, "metrics_path": metrics.path, "static_configs": [{"targets": targets}]}
        if metrics.prefix:
            config["metric_relabel_configs"] = [{"source_labels": ["__name__"], "regex": "(.*)",
                                                 "target_label": "__name__", "replacement": f"{metrics.prefix}$1"}]
        scrape.append(config)
    rules = sorted({rule_file(m.rules) for m, _ in jobs.values() if m.rules})
    config = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [ALERTMANAGER]}]}]},
        "rule_files": rules,
        "scrape_configs": scrape,
    }
    return ("# Made by the program from the services that run (stacks/telemetry.py): each job\n"
            "# scrapes a service that runs, and the rules are those of the scraped jobs.\n"
            + yaml.safe_dump(config, sort_keys=False))


def dashboards(jobs: Iterable[str]) -> list[str]:
    """The dashboards whose metrics are scraped, in name order."""
    scraped = set(jobs)
    return sorted(name for name, job in DASHBOARDS.items() if job in scraped)


def alertmanager_service(s: Settings) -> Service:
    return Service(
        name="alertmanager",
        container="alertmanager",
        image=s.images["alertmanager"],
        ports=((19093, 9093),),
        # the image's own settings; one instance, so no cluster (gossip) listener
        command=("--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager",
                 "--cluster.listen-address="),
        files=(File("/etc/alertmanager/alertmanager.yml", "telemetry/alertmanager/alertmanager.yml"),),
        healthcheck=answers(9093, "/-/ready"),
        metrics=(Metrics("alertmanager", 9093),),
    )


def prometheus_service(s: Settings, jobs: dict, own: Metrics) -> Service:
    """Prometheus scraping `jobs` (scrape_jobs), with the rules of what it scrapes."""
    rules = sorted({m.rules for m, _ in jobs.values() if m.rules})
    return Service(
        name="prometheus",
        container="prometheus",
        image=s.images["prometheus"],
        ports=((19090, 9090),),
        # the image's own settings, written out
        command=(f"--config.file={PROMETHEUS_CONF}/prometheus.yml", "--storage.tsdb.path=/prometheus"),
        files=(File(f"{PROMETHEUS_CONF}/prometheus.yml", content=prometheus_config(jobs)),
               *(File(f"{PROMETHEUS_CONF}/{rule_file(r)}", r) for r in rules)),
        data=(("prometheus-data", "/prometheus"),),
        data_group=65534,  # the image runs as nobody
        healthcheck=answers(9090, "/-/ready"),
        depends_on={"alertmanager": "healthy"},
        metrics=(own,),
    )


def grafana_service(s: Settings, jobs: dict) -> Service:
    """Grafana with its Prometheus datasource and the dashboards of what is scraped."""
    provisioning = "/etc/grafana/provisioning"
    return Service(
        name="grafana",
        container="grafana",
        image=s.images["grafana"],
        ports=((3004, 3000),),
        env={"GF_SECURITY_ADMIN_USER": GRAFANA_ADMIN, "GF_SECURITY_ADMIN_PASSWORD": s.grafana_password},
        files=(
            File(f"{provisioning}/datasources/prometheus.yml", "telemetry/grafana/provisioning/datasources/prometheus.yml"),
            File(f"{provisioning}/dashboards/factorhouse-local.yml",
                 "telemetry/grafana/provisioning/dashboards/factorhouse-local.yml"),
            *(File(f"{GRAFANA_DASHBOARDS}/{name}", f"telemetry/grafana/dashboards/{name}") for name in dashboards(jobs)),
        ),
        data=(("grafana-data", "/var/lib/grafana"),),
        data_group=472,  # the image runs as grafana (uid 472)
        healthcheck=answers(3000, "/api/health"),
        depends_on={"prometheus": "healthy"},
    )


class TelemetryStack(pulumi.ComponentResource):
    # made after every other stack (stacks/__init__.py, BUILD_ORDER): it scrapes what they run

    def __init__(self, platform: Platform, opts: pulumi.ResourceOptions | None = None):
        super().__init__("factorhouse:stacks:Telemetry", "telemetry", None, opts)
        s = platform.settings
        platform.run(alertmanager_service(s), self)
        own = Metrics("prometheus", 9090)
        jobs = scrape_jobs([*((name, m) for name, service in platform.descriptions.items() for m in service.metrics),
                            ("prometheus", own)])
        platform.run(prometheus_service(s, jobs, own), self)
        platform.run(grafana_service(s, jobs), self)
        self.outputs = {"prometheusUrl": s.url(19090), "alertmanagerUrl": s.url(19093), "grafanaUrl": s.url(3004),
                        # what `make check` asks of them (docs/check.md): every job's targets
                        # (`service:port`), and Grafana's login (the password a secret)
                        "prometheusTargets": {job: targets for job, (_, targets) in jobs.items()},
                        "grafanaUser": GRAFANA_ADMIN, "grafanaPassword": s.grafana_password}
        self.register_outputs(self.outputs)
