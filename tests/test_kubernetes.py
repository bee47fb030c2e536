"""The Kubernetes engine, under mocks: every service of every stack and profile becomes
the workload, Service, ConfigMap, Secret, claims, probes and Job that docs/engine.md
describes, runs what the Docker engine runs (the same images, commands, settings,
files and ports), waits for what it waits for, keeps every credential in a Secret, and
every manifest validates against the Kubernetes schemas of the versions we support."""

import itertools
import json
import re
import shlex
from unittest import mock

import kubernetes_validate
import pytest

import harness
from engines.kubernetes import probe_command
from harness import COMMAND, auto_name, is_secret, run_program
from stacks.service import MIN_WAIT_SECONDS

# on a cluster the default MinIO, Postgres and Redis passwords are refused
# a password of its own for every service that has one (a cluster refuses the defaults)
PASSWORDS = {"minioPassword": "minio-on-k8s", "postgresPassword": "pg-on-k8s", "redisPassword": "redis-on-k8s",
             "grafanaPassword": "grafana-on-k8s", "marquezPassword": "marquez-on-k8s",
             "clickhousePassword": "clickhouse-on-k8s", "cloudbeaverPassword": "cloudbeaver-on-k8s",
             "openmetadataPassword": "Openmetadata-on-k8s!", "openmetadataDbPassword": "omt-db-on-k8s",
             "airflowPassword": "airflow-on-k8s"}
K8S = {"engine": "kubernetes", **PASSWORDS}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
SERVICE = "kubernetes:core/v1:Service"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
NAMESPACE = "kubernetes:core/v1:Namespace"
PROVIDER = "pulumi:providers:kubernetes"
STACKS = ["kpow", "flex", "analytics", "pinot"]
# Pulumi's own wait replaced by a condition that holds once the object exists; the gate waits
WAIT = {"pulumi.com/timeoutSeconds": "1200", "pulumi.com/waitFor": "jsonpath={.metadata.name}"}
# the schemas of every Kubernetes minor version that kubernetes-validate ships
VERSIONS = [f"1.{minor}" for minor in range(25, 38)]


class Pods:
    """A run on Kubernetes, read per service: its workload, pod and container."""

    def __init__(self, run):
        self.run = run
        self.workloads = {r.name: r for r in run.registrations if r.type in (DEPLOYMENT, JOB)}
        self.by_name = {(r.type, r.inputs.get("metadata", {}).get("name") or auto_name(r.name)): r
                        for r in run.registrations}

    def pod(self, name: str) -> dict:
        return self.workloads[name]["spec"]["template"]["spec"]

    def container(self, name: str) -> dict:
        [container] = self.pod(name)["containers"]
        return container

    def env(self, name: str) -> dict[str, str]:
        """Settings with credentials read back from the Secret they refer to."""
        out = {}
        for entry in self.container(name).get("env", []):
            if "value" in entry:
                out[entry["name"]] = entry["value"]
            else:
                ref = entry["valueFrom"]["secretKeyRef"]
                out[entry["name"]] = self.by_name[(SECRET, ref["name"])]["stringData"][ref["key"]]
        return out

    def files(self, name: str) -> dict[str, str]:
        """Files by path: from the pod's ConfigMap, and its Secret of files."""
        pod, container = self.pod(name), self.container(name)
        sources = {}
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                sources[volume["name"]] = self.by_name[(CONFIG_MAP, volume["configMap"]["name"])]["data"]
            elif "secret" in volume:
                sources[volume["name"]] = self.by_name[(SECRET, volume["secret"]["secretName"])]["stringData"]
        return {m["mountPath"]: sources[m["name"]][m["subPath"]]
                for m in container.get("volumeMounts", []) if m["name"] in sources}

    def data(self, name: str) -> dict[str, str]:
        """Data paths -> claim name."""
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
                  for v in self.pod(name).get("volumes", []) if "persistentVolumeClaim" in v}
        return {m["mountPath"]: claims[m["name"]] for m in self.container(name).get("volumeMounts", [])
                if m["name"] in claims}


def image_of(run, reference: str) -> str:
    """A pulled reference as it is, a built image as the step that builds it."""
    for step in run.of_type(COMMAND):
        if step.name.startswith("build-") and run.option(step, "--tag") == reference:
            return step.name
    return reference


def docker_view(run) -> dict[str, dict]:
    """What each Docker container runs, in engine-neutral terms."""
    out = {}
    for name, c in run.containers.items():
        check = c.get("healthcheck")
        out[name] = {
            "image": run.image_chain(name)[0],
            "command": c.get("command") or [], "entrypoint": c.get("entrypoints") or [],
            "env": run.env(name), "files": run.files(name),
            "ports": sorted(int(p["internal"]) for p in c.get("ports", [])),
            "memory": c.get("memory"), "check": probe_command(tuple(check["tests"])) if check else None,
            "data": sorted(run.mounts(name)), "one_shot": bool(c.get("attach")),
        }
    return out


def kubernetes_view(run) -> dict[str, dict]:
    pods = Pods(run)
    out = {}
    for name, workload in pods.workloads.items():
        c = pods.container(name)
        probe = c.get("readinessProbe")
        out[name] = {
            "image": image_of(run, c["image"]),
            "command": c.get("args") or [], "entrypoint": c.get("command") or [],
            "env": pods.env(name), "files": pods.files(name),
            "ports": sorted(int(p["containerPort"]) for p in c.get("ports", [])),
            "memory": int(c["resources"]["limits"]["memory"][:-2]) if c.get("resources") else None,
            "check": probe["exec"]["command"] if probe else None,
            "data": sorted(pods.data(name)), "one_shot": workload.type == JOB,
        }
    return out


def same_dependencies(docker_run, k8s_run) -> dict[str, tuple[set, set]]:
    """Per service, the services it waits for or is made after on each engine: on Docker
    their containers (an identity it is made again with: the bucket set-up's MinIO) or
    health gates; on Kubernetes their workloads (the same identity: a Deployment's uid) or
    the workloads' gates (a Deployment's, which waits until it is ready, or a Job's, until
    it completed; not merely their Services)."""
    services = set(docker_run.containers)
    workloads = Pods(k8s_run).workloads
    out = {}

    def made_after(urn: str) -> str | None:
        r = k8s_run.by_urn(urn)
        if r.type == COMMAND and r.name.endswith("-ready"):
            return r.name.removesuffix("-ready")
        return r.name if r.type in (DEPLOYMENT, JOB) and r.name in workloads else None

    for name, container in docker_run.containers.items():
        on_docker = {d.removesuffix("-healthy") for d in docker_run.depends_on(container)}
        on_k8s = {made_after(u) for u in workloads[name].dependencies} - {None}
        out[name] = (on_docker & services, on_k8s)
    return out


SELECTIONS = [c for n in (1, 4) for c in itertools.combinations(STACKS, n)]
CASES = [(chosen, profile, mode) for chosen in SELECTIONS for profile in ("full", "lite")
         for mode in ("zookeeper", "kraft")]


def config(chosen, profile="full", mode="zookeeper", **more) -> dict[str, str]:
    return {"stacks": json.dumps(list(chosen)), "profile": profile, "kafkaMode": mode, **PASSWORDS, **more}


@pytest.fixture(scope="module")
def runs():
    """Docker and Kubernetes runs of every case."""
    return {case: (run_program(config(*case)), run_program({**K8S, **config(*case)})) for case in CASES}


def assert_same_on_both(docker_run, k8s_run) -> None:
    """Every service runs on Kubernetes what it runs on Docker, and waits for the same."""
    on_docker, on_k8s = docker_view(docker_run), kubernetes_view(k8s_run)
    assert set(on_k8s) == set(on_docker)
    for name in on_docker:
        assert on_k8s[name] == on_docker[name], name
    for name, (waits_docker, waits_k8s) in same_dependencies(docker_run, k8s_run).items():
        assert waits_k8s == waits_docker, name


@pytest.mark.parametrize("case", CASES, ids=["+".join(c) + f"-{p}-{m}" for c, p, m in CASES])
def test_every_service_runs_on_kubernetes_what_it_runs_on_docker(runs, case):
    docker_run, k8s_run = runs[case]
    assert_same_on_both(docker_run, k8s_run)
    # no Docker resource, no Docker health gate: the cluster probes, each workload's gate
    # waits for its readiness
    assert not [r for r in k8s_run.registrations if r.type.startswith(("docker:", "pulumi:providers:docker"))]
    assert not [r for r in k8s_run.of_type(COMMAND) if r.name.endswith("-healthy")]
    assert {r.name for r in k8s_run.of_type(COMMAND) if r.name.endswith("-ready")} == \
        {f"{name}-ready" for name in Pods(k8s_run).workloads}


def test_the_workloads_services_and_claims(runs):
    run = runs[(tuple(STACKS), "full", "zookeeper")][1]
    pods = Pods(run)
    namespace = run.one(NAMESPACE, "namespace")
    assert namespace["metadata"]["name"] == "factorhouse-dev"
    for name, workload in pods.workloads.items():
        meta = workload["metadata"]
        assert meta["name"] == name and meta["namespace"] == "factorhouse-dev"
        assert "namespace" in run.depends_on(workload)
        pod = pods.pod(name)
        assert pod["enableServiceLinks"] is False and pod["terminationGracePeriodSeconds"] == 30
        assert pods.container(name)["terminationMessagePolicy"] == "FallbackToLogsOnError"
        if workload.type == DEPLOYMENT:
            spec = workload["spec"]
            assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
            assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}
            assert workload.delete_before_replace
            # the name the others use: headless, resolving at once, on every port
            service = run.one(SERVICE, name)["spec"]
            assert service["clusterIP"] == "None" and service["publishNotReadyAddresses"] is True
            assert service["selector"] == {"app.kubernetes.io/name": name}
            assert sorted(int(p["port"]) for p in service.get("ports", [])) == \
                sorted(int(p["containerPort"]) for p in pods.container(name).get("ports", []))
    assert set(pods.workloads) - {r.name for r in run.of_type(SERVICE)} == {"mc"}
    claims = {r["metadata"]["name"]: r for r in run.of_type(CLAIM)}
    assert set(claims) == {"zookeeper-data", "zookeeper-log", "kafka-1-data", "kafka-2-data", "kafka-3-data",
                           "minio-data", "postgres-data"}
    keeper = [p for p in run.of_type(PROVIDER) if p.name == "kubernetes-keep"][0]
    for claim in [*claims.values(), namespace]:
        # never deleted by Pulumi; taken back as they are by the next `up`
        assert claim.retain_on_delete and run.provider_of(claim) is keeper
        if claim.type == CLAIM:
            assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}
            # whose data it is: `make drop-data` deletes exactly this stack's claims
            assert claim["metadata"]["labels"] == {"app.kubernetes.io/part-of": "factorhouse-local",
                                                   "app.kubernetes.io/managed-by": "pulumi",
                                                   "factorhouse.local": "data",
                                                   "factorhouse.local/stack": "factorhouse-local.dev"}
    assert keeper["upsertExistingObjects"] == "true"  # provider settings arrive as strings
    main = [p for p in run.of_type(PROVIDER) if p.name == "kubernetes"][0]
    assert "upsertExistingObjects" not in main.inputs
    for name in ("kafka-1", "zookeeper", "postgres", "minio"):
        mounts = [m for m in pods.container(name)["volumeMounts"] if m["name"].startswith("data-")]
        assert mounts and all(m["subPath"] == "data" for m in mounts), name
    # Confluent's images write as appuser's group; the others run as root and chown
    assert pods.pod("kafka-1")["securityContext"] == {"fsGroup": 1000, "fsGroupChangePolicy": "OnRootMismatch"}
    assert pods.pod("zookeeper")["securityContext"]["fsGroup"] == 1000
    assert "securityContext" not in pods.pod("postgres") and "securityContext" not in pods.pod("minio")


def seconds(duration: str) -> int:
    from test_engine import seconds_of
    return seconds_of(duration)


def test_health_checks_are_probes_found_within_a_second():
    chosen = config(STACKS)
    docker_run, pods = run_program(chosen), Pods(run_program({**K8S, **chosen}))
    checked = 0
    for name, container in docker_run.containers.items():
        check, probes = container.get("healthcheck"), pods.container(name)
        if not check:
            assert "readinessProbe" not in probes and "startupProbe" not in probes, name
            continue
        checked += 1
        command = {"command": probe_command(tuple(check["tests"]))}
        ready, startup = probes["readinessProbe"], probes["startupProbe"]
        # at the check's own pace once up, as Docker runs it
        assert ready == {"exec": command, "periodSeconds": seconds(check["interval"]),
                         "timeoutSeconds": seconds(check["timeout"]), "failureThreshold": check["retries"]}, name
        # every second until it first passes, for as long as `pulumi up` waits (image pulls
        # included: at least 20 minutes), and never less than the Docker gate waits
        gate = shlex.split(docker_run.gate(name)["create"])
        assert startup == {"exec": command, "periodSeconds": 1, "timeoutSeconds": seconds(check["timeout"]),
                           "failureThreshold": max(1200, int(gate[gate.index("--timeout") + 1]))}, name
        assert startup["failureThreshold"] >= MIN_WAIT_SECONDS
        assert pods.workloads[name]["metadata"]["annotations"] == WAIT
    assert checked == 6  # connect, jobmanager, minio and Pinot's three


def test_the_bucket_set_up_is_a_job_that_is_waited_for_and_run_again_when_it_failed():
    run = run_program({**K8S, **config(["analytics"])})
    pods = Pods(run)
    job = pods.workloads["mc"]
    assert job.type == JOB and job["spec"]["backoffLimit"] == 0
    assert pods.pod("mc")["restartPolicy"] == "Never"
    assert job["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true", **WAIT}
    # Pulumi waits for the deletion of every workload and Job (skipAwait would skip it;
    # only a claim is not waited for itself)
    for r in run.registrations:
        if r.type.startswith("kubernetes:") and r.type != CLAIM:
            assert "pulumi.com/skipAwait" not in json.dumps(r.inputs), r.name
    # what needs it waits for its gate: the Job completed
    for name in ("rest", "spark-iceberg"):
        assert "mc-ready" in run.depends_on(pods.workloads[name])
    assert "minio-ready" in run.depends_on(job)
    # a new MinIO (a replaced Deployment, or a new revision of its pod) runs it again
    assert job["spec"]["template"]["metadata"]["annotations"]["factorhouse.local/replace-when"]



def test_the_bucket_set_up_runs_again_for_a_new_minio_pod_template_and_not_for_a_restart():
    def replace_when(generation: int = 1, **more) -> str:
        real = harness.Mocks.new_resource

        def new_resource(self, args):
            resource_id, state = real(self, args)
            if "generation" in state.get("metadata", {}):
                state["metadata"]["generation"] = generation  # as the cluster counts changes of the spec
            return resource_id, state

        with mock.patch.object(harness.Mocks, "new_resource", new_resource):
            run = run_program({**K8S, **config(["analytics"]), **more})
        return Pods(run).workloads["mc"]["spec"]["template"]["metadata"]["annotations"][
            "factorhouse.local/replace-when"]

    first = replace_when()
    uid = harness.fake_id("uid", "minio")[7:43]
    assert first.startswith(f"{uid}/") and first == replace_when()
    # another MinIO image is a new pod template: the set-up runs again
    assert replace_when(images=json.dumps({"minio": "quay.io/minio/minio:another"})) != first
    # `kubectl rollout restart` (make restart) moves the generation, not the template:
    # the next preview shows no change
    assert replace_when(generation=2) == first


def distinctive(tmp_path) -> dict[str, str]:
    licence = tmp_path / "licence.env"
    licence.write_text("LICENSE_ID=lic-id-4711\nLICENSE_CODE=lic-code-4711\nLICENSEE=lic-who-4711\n"
                       "LICENSE_EXPIRY=2027-01-01\nLICENSE_SIGNATURE=lic-sig-4711\n")
    return {"minioPassword": "minio-S3cret-4711", "postgresPassword": "pg-S3cret-4711", "redisPassword": "rd-S3cret-4711",
            "kpowLicenseFile": str(licence), "flexLicenseFile": str(licence)}


def test_every_credential_is_in_a_secret_and_nowhere_else(tmp_path):
    secrets = distinctive(tmp_path)
    run = run_program({**K8S, **secrets, "stacks": json.dumps(STACKS + ["redis"])},
                      secret_keys=("minioPassword", "postgresPassword", "redisPassword"))
    values = ["minio-S3cret-4711", "pg-S3cret-4711", "rd-S3cret-4711", "lic-code-4711", "lic-sig-4711", "lic-id-4711",
              "lic-who-4711"]
    in_secrets = set()
    for r in run.registrations:
        text = json.dumps(r.inputs)
        if r.type == SECRET:
            assert is_secret(r.raw["stringData"]) or all(is_secret(v) for v in r.raw["stringData"].values()), r.name
            in_secrets |= {v for v in values if v in text}
        else:
            leaked = [v for v in values if v in text]
            assert not leaked, (r.type, r.name, leaked)
    assert in_secrets == set(values)
    pods = Pods(run)
    # every setting that is a credential, named here (not found by the code's own rule)
    credentials = {"kpow": {"LICENSE_ID", "LICENSE_CODE", "LICENSEE", "LICENSE_EXPIRY", "LICENSE_SIGNATURE",
                            "SCHEMA_REGISTRY_PASSWORD"},
                   "flex": {"LICENSE_ID", "LICENSE_CODE", "LICENSEE", "LICENSE_EXPIRY", "LICENSE_SIGNATURE"},
                   "minio": {"MINIO_ROOT_PASSWORD"}, "mc": {"MINIO_ROOT_PASSWORD"},
                   "postgres": {"POSTGRES_PASSWORD"}, "rest": {"AWS_SECRET_ACCESS_KEY"}, "redis": {"REDIS_PASSWORD"},
                   "spark-iceberg": {"AWS_SECRET_ACCESS_KEY"},
                   **{name: {"AWS_SECRET_ACCESS_KEY"} for name in ("jobmanager", "taskmanager-1", "taskmanager-2",
                                                                    "taskmanager-3", "sql-gateway")}}
    for name in pods.workloads:
        from_secrets = {e["name"] for e in pods.container(name).get("env", []) if "valueFrom" in e}
        assert from_secrets == credentials.get(name, set()), name
    # the login realms (users and passwords) are files from a Secret, never a ConfigMap
    for name, realm in (("kpow", "/etc/kpow/jaas/hash-realm.properties"), ("flex", "/etc/flex/jaas/hash-realm.properties"),
                        ("schema", "/etc/schema/schema_realm.properties")):
        [mount] = [m for m in pods.container(name)["volumeMounts"] if m["mountPath"] == realm]
        [volume] = [v for v in pods.pod(name)["volumes"] if v["name"] == mount["name"]]
        assert "secret" in volume and "configMap" not in volume, name
    for config in run.of_type(CONFIG_MAP):
        assert not any("realm" in key for key in config["data"]), config.name
    assert pods.env("kpow")["LICENSE_CODE"] == "lic-code-4711"
    assert pods.env("minio")["MINIO_ROOT_PASSWORD"] == "minio-S3cret-4711"


def test_two_stacks_share_no_namespace_and_nothing_cluster_wide():
    alice = run_program(K8S, stack="alice")
    bob = run_program({**K8S, "namespace": "team-bob"}, stack="bob")
    assert alice.one(NAMESPACE, "namespace")["metadata"]["name"] == "factorhouse-alice"
    assert bob.one(NAMESPACE, "namespace")["metadata"]["name"] == "team-bob"
    for run, namespace in ((alice, "factorhouse-alice"), (bob, "team-bob")):
        for r in run.registrations:
            if r.type.startswith("kubernetes:") and r.type != NAMESPACE:
                assert r["metadata"]["namespace"] == namespace, r.name  # the only cluster-wide object
        for service in run.of_type(SERVICE):
            assert service["spec"]["clusterIP"] == "None" and "nodePort" not in json.dumps(service.inputs)
        assert run.outputs["namespace"] == namespace
    # the images they build are named apart too
    tags = [{run.option(r, "--tag").split(":")[0] for r in run.of_type(COMMAND) if r.name.startswith("build-")}
            for run in (run_program({**K8S, "namePrefix": "alice-"}, stack="alice"),
                        run_program({**K8S, "namePrefix": "bob-"}, stack="bob"))]
    assert not tags[0] & tags[1]


def test_clients_on_the_users_machine_use_what_kafka_advertises():
    for offset in ("0", "100"):
        run = run_program({**K8S, "portOffset": offset, "stacks": json.dumps(["kpow"])})
        pods = Pods(run)
        forwards = {shlex.split(f)[6].split("/")[1]: shlex.split(f)[7:] for f in run.outputs["portForwards"]}
        bootstrap = run.outputs["kafkaBootstrapServers"].split(",")
        for n in (1, 2, 3):
            local, remote = forwards[f"kafka-{n}"][0].split(":")
            advertised = pods.env(f"kafka-{n}")["KAFKA_ADVERTISED_LISTENERS"].split("EXTERNAL://")[1]
            # the client dials the advertised address; the forward takes it to the
            # broker's external listener on the same port
            assert advertised == f"127.0.0.1:{local}" == bootstrap[n - 1]
            assert remote == local and int(local) == 9091 + n + int(offset)
        assert forwards["kpow"] == [f"{3000 + int(offset)}:3000"]
        assert run.outputs["kpowUrl"] == f"http://127.0.0.1:{3000 + int(offset)}"
        # on the cluster `up` ran on, whatever the current context is later
        assert all(f.startswith("kubectl --context kind-current --namespace factorhouse-dev port-forward service/")
                   for f in run.outputs["portForwards"])
    context = run_program({**K8S, "kubeContext": "kind-team", "stacks": json.dumps(["pinot"])})
    assert context.outputs["portForwards"][0].startswith("kubectl --context kind-team --namespace factorhouse-dev ")
    [provider] = [p for p in context.of_type(PROVIDER) if p.name == "kubernetes"]
    assert provider["context"] == "kind-team"


def test_built_images_go_to_the_registry_the_cluster_pulls_from():
    local = run_program({**K8S, "stacks": json.dumps(["flex"])})
    pushed = run_program({**K8S, "stacks": json.dumps(["flex"]), "imageRegistry": "localhost:5001/team"})
    for run, prefix, push in ((local, "factorhouse/", False), (pushed, "localhost:5001/team/factorhouse/", True)):
        pods = Pods(run)
        builds = [r for r in run.of_type(COMMAND) if r.name.startswith("build-")]
        assert {r.name for r in builds} == {"build-pyflink", "build-flink", "build-flink-connectors"}
        for step in builds:
            assert run.option(step, "--tag").startswith(prefix)
            assert ("--push" in shlex.split(step["create"])) == push
            assert "environment" not in step.inputs  # the local Docker engine builds
        # the connectors image is built FROM the Flink image by its tag
        connectors = run.one(COMMAND, "build-flink-connectors")
        assert run.build_args(connectors)["BASE_IMAGE"] == run.option(run.one(COMMAND, "build-flink"), "--tag")
        for name in ("jobmanager", "taskmanager-1", "sql-gateway"):
            container = pods.container(name)
            assert container["image"] == run.option(connectors, "--tag")
            assert container["imagePullPolicy"] == "IfNotPresent"
            assert "build-flink-connectors" in run.depends_on(pods.workloads[name])
        assert pods.container("flex")["image"] == "factorhouse/flex:latest"
        assert pods.container("flex")["imagePullPolicy"] == "IfNotPresent"  # pulled once, as on Docker
    follow = Pods(run_program({**K8S, "stacks": json.dumps(["flex"]), "followLatest": "true"}))
    assert follow.container("flex")["imagePullPolicy"] == "Always"


def test_without_persist_data_there_is_no_claim():
    run = run_program({**K8S, "persistData": "false"})
    assert run.of_type(CLAIM) == []
    assert "securityContext" not in Pods(run).pod("kafka-1")


def test_the_storage_class_is_the_one_asked_for():
    run = run_program({**K8S, "storageClass": "fast-ssd", "stacks": json.dumps(["analytics"])})
    assert {c["spec"]["storageClassName"] for c in run.of_type(CLAIM)} == {"fast-ssd"}


@pytest.mark.parametrize("config, key, words", [
    ({**K8S, "bindAddress": "0.0.0.0"}, "bindAddress", ["has no meaning with engine kubernetes",
                                                         "pulumi config rm bindAddress"]),
    ({**K8S, "dockerHost": "ssh://me@box"}, "dockerHost", ["has no meaning with engine kubernetes"]),
    ({"kubeContext": "kind-kind"}, "kubeContext", ["has no meaning with engine docker"]),
    ({"imageRegistry": "localhost:5001"}, "imageRegistry", ["has no meaning with engine docker"]),
    ({**K8S, "namespace": "Team_A"}, "namespace", ["'Team_A'", "lowercase letters"]),
    ({**K8S, "imageRegistry": "http://reg"}, "imageRegistry", ["'http://reg'", "HOST[:PORT][/PATH]"]),
    ({**K8S, "storageClass": "Fast SSD"}, "storageClass", ["'Fast SSD'"]),
    ({**K8S, "kubeContext": "my context"}, "kubeContext", ["'my context'"]),
    ({"engine": "nomad"}, "engine", ["'nomad'", "docker, kubernetes"]),
])
def test_a_setting_of_the_other_engine_or_a_bad_one_is_refused(config, key, words):
    from settings import SettingsError
    with pytest.raises(SettingsError) as caught:
        run_program(config)
    message = str(caught.value)
    assert message.startswith(f"invalid config {key}: ")
    for word in words:
        assert word in message
    assert caught.value.registrations == []


def test_a_long_stack_name_still_gives_a_valid_namespace():
    run = run_program(K8S, stack="Alice.Smith_" + "x" * 80)
    name = run.one(NAMESPACE, "namespace")["metadata"]["name"]
    assert len(name) <= 63 and name.startswith("factorhouse-alice-smith-x") and not name.endswith("-")


# -- every manifest validates ------------------------------------------------------------

def manifests(run) -> list[dict]:
    return [r.inputs for r in run.registrations
            if r.type.startswith("kubernetes:") and not r.type.startswith("pulumi:")]


@pytest.fixture(scope="module")
def all_manifests(runs, tmp_path_factory):
    out = []
    for _, k8s_run in runs.values():
        out += manifests(k8s_run)
    licence_dir = tmp_path_factory.mktemp("licence")
    for extra in ({"persistData": "false"}, {"pyflink": "false", "storageClass": "standard"},
                  {"imageRegistry": "localhost:5001", "followLatest": "true", "edition": "community"},
                  {"sparkThriftPorts": "true", "portOffset": "1000", "kubeContext": "kind-kind"},
                  distinctive(licence_dir)):
        out += manifests(run_program({**K8S, **extra}))
    # one of each distinct manifest
    unique = {json.dumps(m, sort_keys=True): m for m in out}
    return list(unique.values())


def test_manifests_cover_every_kind(all_manifests):
    kinds = {m["kind"] for m in all_manifests}
    assert kinds == {"Namespace", "Deployment", "Job", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim",
                     "NetworkPolicy"}


def test_every_probed_container_is_probed_every_second_until_it_first_passes_for_the_whole_wait(all_manifests):
    """In every manifest of every case: a container with a health check has a startup
    probe at most 1 s apart (the readiness probe, at the check's own interval, runs only
    once it passed), allowed to fail for as long as the gate waits for the workload."""
    probed = 0
    for manifest in all_manifests:
        if manifest["kind"] not in ("Deployment", "Job"):
            continue
        name, wait = manifest["metadata"]["name"], int(manifest["metadata"]["annotations"]["pulumi.com/timeoutSeconds"])
        for container in manifest["spec"]["template"]["spec"]["containers"]:
            startup = container.get("startupProbe")
            assert (startup is None) == ("readinessProbe" not in container), name
            if startup is None:
                continue
            probed += 1
            assert startup["periodSeconds"] <= 1, (name, startup)
            assert startup["periodSeconds"] * startup["failureThreshold"] >= wait, (name, startup)
    assert probed >= 6


def assert_valid(manifests: list[dict], version: str) -> None:
    """Every manifest validates against the schemas of Kubernetes `version`, or the test
    fails naming the first one that does not, where and why."""
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            pytest.fail(f"{manifest['kind']} {manifest['metadata'].get('name')}: {where}: {error.message} ({version})")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(all_manifests, version):
    assert_valid(all_manifests, version)




def test_kept_claims_are_not_waited_for_themselves_the_deployment_waits_until_they_are_bound():
    run = run_program({**K8S, **config(["analytics"])})
    for claim in run.of_type(CLAIM):
        assert claim["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}, claim.name
        # the workload that mounts it depends on it, and its gate waits for its pod ready,
        # which needs its claims bound
        pods = Pods(run)
        users = [w for w in pods.workloads.values() if claim.urn in w.dependencies]
        mounting = [w for w in users if {"claimName": claim["metadata"]["name"]} in
                    [v.get("persistentVolumeClaim") for v in pods.pod(w.name).get("volumes", [])]]
        assert mounting and all(w.type == DEPLOYMENT for w in mounting)
        # what else depends on it (the bucket set-up, through MinIO's identity) comes after them
        for other in users:
            assert other in mounting or {m.urn for m in mounting} <= set(other.dependencies), other.name


def test_only_the_namespaces_own_pods_reach_its_services():
    run = run_program({**K8S, **config(["kpow"])})
    [policy] = run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert policy["metadata"]["namespace"] == "factorhouse-dev"
    assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}


def test_an_existing_namespace_is_used_as_it_is():
    run = run_program({**K8S, **config(["pinot"]), "namespace": "team-alice", "createNamespace": "false"})
    assert run.of_type(NAMESPACE) == []
    for r in run.registrations:
        if r.type.startswith("kubernetes:"):
            assert r["metadata"]["namespace"] == "team-alice", r.name


def test_images_are_built_for_the_nodes_platform():
    runs = {p: run_program({**K8S, **config(["flex"]), **({"imagePlatform": p} if p else {})}) for p in ("", "linux/amd64")}
    for platform, run in runs.items():
        for step in (r for r in run.of_type(COMMAND) if r.name.startswith("build-")):
            args = shlex.split(step["create"])
            assert (args[args.index("--platform") + 1] if "--platform" in args else "") == platform
    tags = [{run.option(r, "--tag") for r in run.of_type(COMMAND) if r.name.startswith("build-")} for run in runs.values()]
    assert not tags[0] & tags[1]  # another platform, another image


@pytest.mark.parametrize("extra, key, words", [
    ({"minioPassword": "password"}, "minioPassword", ["default password is not allowed with engine kubernetes"]),
    ({"postgresPassword": "db_password"}, "postgresPassword", ["default password is not allowed with engine kubernetes"]),
    ({"redisPassword": "redis-pass", "stacks": '["redis"]'}, "redisPassword",
     ["default password is not allowed with engine kubernetes"]),
    ({"hostAddress": "192.0.2.10"}, "hostAddress", ["has no use with engine kubernetes", "make forward"]),
    ({"imagePlatform": "amd64"}, "imagePlatform", ["'amd64'", "linux/amd64"]),
    ({"createNamespace": "maybe"}, "createNamespace", ["true or false"]),
])
def test_settings_refused_on_a_cluster(extra, key, words):
    from settings import SettingsError
    with pytest.raises(SettingsError) as caught:
        run_program({**K8S, **extra})
    message = str(caught.value)
    assert f"invalid config {key}: " in message
    for word in words:
        assert word in message


def test_a_claims_stack_label_is_a_valid_label_value_for_any_stack_name():
    from settings import kubernetes_stack_label
    value = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")  # Kubernetes' rule, at most 63
    assert kubernetes_stack_label("dev") == "factorhouse-local.dev"
    assert kubernetes_stack_label("alice.k8s_1") == "factorhouse-local.alice.k8s_1"
    longest_plain = "a" * 45
    assert kubernetes_stack_label(longest_plain) == f"factorhouse-local.{longest_plain}"
    names = ["a" * 46, "a" * 46 + "b", "a" * 100, "dev-", "dev_", "dev.", "x" * 44 + "-", "Alice"]
    made = [kubernetes_stack_label(name) for name in names]
    for name, label in zip(names, made):
        assert value.match(label) and len(label) <= 63, (name, label)
        assert label == kubernetes_stack_label(name)  # the same on every run
    assert len(set(made)) == len(made)  # never two stacks' claims under one label


def test_a_stacks_claims_carry_its_own_label():
    run = run_program({**K8S, "stacks": json.dumps(["analytics"])}, stack="alice-k8s")
    claims = run.of_type(CLAIM)
    assert claims and {c["metadata"]["labels"]["factorhouse.local/stack"] for c in claims} == {
        "factorhouse-local.alice-k8s"}
