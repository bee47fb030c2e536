"""The telemetry stack's questions (stacks/telemetry.py): Prometheus and its targets,
Alertmanager, Grafana and its datasource.
"""

from __future__ import annotations

from .plumbing import Failed, Target, gist, http, json_of, logs_of, question


@question("prometheus", asks="{prometheusUrl}/-/ready; its targets (/api/v1/targets) are every one the stack "
                             "scrapes, none down")
def prometheus(t: Target) -> str:
    url, expected = t.output("prometheusUrl"), t.output("prometheusTargets")
    http("GET", f"{url}/-/ready")  # 503 while it starts
    answer = json_of(http("GET", f"{url}/api/v1/targets", params={"state": "active"}))
    targets = (answer.get("data") or {}).get("activeTargets") or []
    scraped = {(x.get("scrapePool"), (x.get("labels") or {}).get("instance")) for x in targets}
    missing = [f"{target} (job {job})" for job, listed in sorted(expected.items()) for target in listed
               if (job, target) not in scraped]
    if missing:
        raise Failed(f"Prometheus does not scrape {', '.join(missing)}, which the stack configures",
                     f"Prometheus reads its configuration when it starts: `make up STACK={t.stack}` re-creates "
                     "it with the stack's")
    down = [x for x in targets if x.get("health") == "down"]
    if down:
        first = (down[0].get("labels") or {}).get("instance", "?")
        more = f" (and {len(down) - 1} more)" if len(down) > 1 else ""
        raise Failed(f"target {first} of job {down[0].get('scrapePool')} is down: {down[0].get('lastError')}{more}",
                     logs_of(first.rpartition(":")[0], t.stack))
    waiting = sum(x.get("health") != "up" for x in targets)
    return f"{len(targets)} targets, {len(targets) - waiting} up" + \
        (f", {waiting} not scraped yet (every 15 s)" if waiting else "")


@question("alertmanager", asks="{alertmanagerUrl}/-/ready, and /api/v2/status names its version")
def alertmanager(t: Target) -> str:
    url = t.output("alertmanagerUrl")
    http("GET", f"{url}/-/ready")
    status = json_of(http("GET", f"{url}/api/v2/status"))
    version = (status.get("versionInfo") or {}).get("version") if isinstance(status, dict) else None
    if not version:
        raise Failed(f"{url}/api/v2/status answered without Alertmanager's version: {str(status)[:120]}")
    return f"ready; Alertmanager {version}"


@question("grafana", asks="{grafanaUrl}/api/health: its database ok; as {grafanaUser}, the provisioned Prometheus "
                          "datasource passes Grafana's own health check of it")
def grafana(t: Target) -> str:
    url, auth = t.output("grafanaUrl"), (t.output("grafanaUser"), t.output("grafanaPassword"))
    health = json_of(http("GET", f"{url}/api/health"))
    if health.get("database") != "ok":
        raise Failed(f"Grafana's database is {health.get('database')!r}, not ok")
    listed = http("GET", f"{url}/api/datasources", expect=None, auth=auth)
    if listed.status_code == 401:
        raise Failed(f"Grafana refuses {auth[0]}'s password (401)",
                     "Grafana keeps the password its data was first made with: set grafanaPassword back, or reset it "
                     f"(`make shell S=grafana STACK={t.stack}`, then `grafana cli admin reset-admin-password NEW`)")
    if listed.status_code != 200:
        raise Failed(f"GET {url}/api/datasources answered {listed.status_code} {gist(listed)}")
    sources = [d for d in json_of(listed) if isinstance(d, dict) and d.get("type") == "prometheus"]
    if not sources:
        raise Failed("Grafana has no Prometheus datasource: its provisioning did not apply",
                     f"the datasource is provisioned from a file when Grafana starts: `make up STACK={t.stack}` "
                     "re-creates it with the stack's files")
    source = sources[0]
    checked = http("GET", f"{url}/api/datasources/uid/{source.get('uid')}/health", expect=None, auth=auth)
    verdict = json_of(checked)
    if checked.status_code != 200 or verdict.get("status") != "OK":
        raise Failed(f"Grafana cannot query its datasource {source.get('name')} ({source.get('url')}): "
                     f"{verdict.get('message') or checked.status_code}", logs_of("prometheus", t.stack))
    return f"Grafana {health.get('version', '?')}; datasource {source.get('name')} answers"
