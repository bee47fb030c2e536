"""The workload gate (scripts/wait_workload.py) against a stand-in kubectl that serves, look
after look, the objects a cluster's API server gives: Deployments, ReplicaSets, Pods,
Jobs, PersistentVolumeClaims and Events, each of which validates against the Kubernetes
schemas. Each cause that waiting will not heal fails the gate at the first look that shows
it, in one line naming the service, the object, the cause and the way out; slow but
healthy progress (a pull in progress, a transient pull error, a check not yet passed, a
node not ready yet, one crash) keeps it waiting until the workload is ready. Polls are
counted, never seconds. Under mocks: every workload's dependents wait on its gate, which
runs the script for that workload, on the context and namespace the provider reaches,
again for a new workload or pod template and not otherwise."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest

from harness import COMMAND, KUBECTL_START, PROJECT_DIR, run_program, stand_in

SCRIPT = PROJECT_DIR / "scripts" / "wait_workload.py"
CONTEXT, NAMESPACE = "kind-dev", "factorhouse-dev"
VERSIONS = [f"1.{minor}" for minor in range(25, 38)]
T0 = "2025-06-01T10:00:00Z"

# A stand-in kubectl: look N (the Nth `get` of the workload's kinds) is served from
# $KUBE_LOOKS[N] (the last one repeats), the claims and events of that look likewise;
# a look given as a string fails as kubectl does then (LOOK_ERRORS: a dropped connection,
# a timeout, credentials refused or not to be had). The world's "forbidden" resources are
# refused as RBAC refuses them: kubectl prints the list of the rest and exits 1 (that get
# is no look). Every call is recorded in $CALLS; it answers only for the context and
# namespace of the world.
LOOK_ERRORS = {
    "unreachable": "Unable to connect to the server: dial tcp 127.0.0.1:6443: connect: connection refused",
    "timeout": "Unable to connect to the server: net/http: TLS handshake timeout",
    "unauthorized": "error: You must be logged in to the server (Unauthorized)",
    "exec": "Unable to connect to the server: getting credentials: exec: executable aws failed with exit code 255",
    "plugin": 'error: exec plugin: invalid apiVersion "client.authentication.k8s.io/v1alpha1"',
}
FAKE_KUBECTL = KUBECTL_START + r"""
if flags.get("--context") != world["context"] or flags.get("--namespace") != world["namespace"]:
    print("error: context or namespace not found", file=sys.stderr); sys.exit(1)
counter = os.environ["KUBE_WORLD"] + ".looks"
seen = int(open(counter).read()) if os.path.exists(counter) else 0
KINDS = {"deployments": "Deployment", "replicasets": "ReplicaSet", "pods": "Pod", "jobs": "Job",
         "persistentvolumeclaims": "PersistentVolumeClaim", "events": "Event"}
if rest[0] == "get":
    asked = rest[1].split(",")
    refused = [k for k in asked if k in world.get("forbidden", [])]
    kinds = [KINDS[k] for k in asked if k not in refused]
    if "Pod" in kinds and not refused:  # a new look
        seen += 1
        open(counter, "w").write(str(seen))
    looks = world["looks"]
    now = looks[min(seen + (1 if refused else 0), len(looks)) - 1]
    if isinstance(now, str):
        print(world["errors"][now], file=sys.stderr)
        sys.exit(1)
    key, _, value = flags.get("--selector", "=").partition("=")
    items = [o for o in now if o["kind"] in kinds
             and (not key or (o["metadata"].get("labels") or {}).get(key) == value)]
    print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}))
    for kind in refused:
        print(f'Error from server (Forbidden): {kind} is forbidden: User "alice" cannot list resource "{kind}" in '
              f'API group "" in the namespace "{world["namespace"]}"', file=sys.stderr)
    sys.exit(1 if refused else 0)
if rest[0] == "delete" and rest[1] == "pod":
    print('pod "%s" deleted' % rest[2]); sys.exit(0)
if rest[0] == "delete" and rest[1] == "persistentvolumeclaim":
    print('persistentvolumeclaim "%s" deleted' % rest[2]); sys.exit(0)
print("error: unexpected call", file=sys.stderr); sys.exit(1)
"""

EVERY_OBJECT: list[dict] = []  # every fixture object made, for the schema test


def _made(obj: dict) -> dict:
    EVERY_OBJECT.append(obj)
    return obj


def _meta(name: str, uid: str, labels: dict | None = None, **more) -> dict:
    return {"name": name, "namespace": NAMESPACE, "uid": uid, "resourceVersion": "1000",
            "creationTimestamp": T0, **({"labels": labels} if labels else {}), **more}


def _labels(name: str) -> dict:
    return {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/name": name,
            "app.kubernetes.io/part-of": "factorhouse-local"}


def _owner(kind: str, name: str, uid: str) -> list[dict]:
    return [{"apiVersion": "batch/v1" if kind == "Job" else "apps/v1", "kind": kind, "name": name, "uid": uid,
             "controller": True, "blockOwnerDeletion": True}]


def _template(name: str, image: str, claim: str | None = None, restart: str = "Always") -> dict:
    spec = {"containers": [{"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "FallbackToLogsOnError", "resources": {}}],
            "restartPolicy": restart, "enableServiceLinks": False, "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler", "securityContext": {}}
    if claim:
        spec["containers"][0]["volumeMounts"] = [{"name": "data-1", "mountPath": "/data", "subPath": "data"}]
        spec["volumes"] = [{"name": "data-1", "persistentVolumeClaim": {"claimName": claim}}]
    return {"metadata": {"labels": _labels(name)}, "spec": spec}


def deployment(name="redis", image="redis:7.4", generation=1, observed=1, revision="1", available=0,
               updated=1, replicas=1, claim=None) -> dict:
    status = {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": updated,
              "readyReplicas": available, "availableReplicas": available,
              "unavailableReplicas": max(0, replicas - available)}
    return _made({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": _meta(name, "d-uid", _labels(name), generation=generation, annotations={
            "deployment.kubernetes.io/revision": revision, "pulumi.com/timeoutSeconds": "1200",
            "pulumi.com/waitFor": "jsonpath={.metadata.name}"}),
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                 "strategy": {"type": "Recreate"}, "template": _template(name, image, claim),
                 "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
        "status": {k: v for k, v in status.items() if v}})


def replicaset(name="redis", revision="1", image="redis:7.4", claim=None) -> dict:
    rs = f"{name}-{revision}5d8f7c9b"
    template = _template(name, image, claim)
    template["metadata"]["labels"]["pod-template-hash"] = f"{revision}5d8f7c9b"
    return _made({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": _meta(rs, f"rs-uid-{revision}", template["metadata"]["labels"],
                          annotations={"deployment.kubernetes.io/revision": revision},
                          ownerReferences=_owner("Deployment", name, "d-uid")),
        "spec": {"replicas": 1, "selector": {"matchLabels": template["metadata"]["labels"]}, "template": template},
        "status": {"replicas": 1, "observedGeneration": 1}})


def pod(name="redis", uid="p-uid-1", owner=("ReplicaSet", "redis-15d8f7c9b", "rs-uid-1"), image="redis:7.4",
        scheduled: dict | None = None, waiting: dict | None = None, running=False, ready=False, restarts=0,
        last: dict | None = None, terminated: dict | None = None, claim=None, restart="Always",
        deleting=False) -> dict:
    template = _template(name, image, claim, restart)
    conditions = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": T0}]
    if scheduled is not None:
        conditions = [{"type": "PodScheduled", "status": "False", "lastProbeTime": None, "lastTransitionTime": T0,
                       "reason": "Unschedulable", **scheduled}]
    status = {"phase": "Pending", "conditions": conditions, "qosClass": "BestEffort"}
    if scheduled is None:
        state = {"waiting": waiting or {"reason": "ContainerCreating"}}
        if running:
            state = {"running": {"startedAt": T0}}
            status["phase"] = "Running"
        if terminated:
            state = {"terminated": {"startedAt": T0, "finishedAt": T0, **terminated}}
            status["phase"] = "Failed" if terminated["exitCode"] else "Succeeded"
        status["conditions"] += [
            {"type": "Ready", "status": "True" if ready else "False", "lastProbeTime": None, "lastTransitionTime": T0,
             **({} if ready else {"reason": "ContainersNotReady", "message": f"containers with unready status: [{name}]"})}]
        status["containerStatuses"] = [{
            "name": name, "image": image, "imageID": "", "ready": ready, "restartCount": restarts,
            "started": running, "state": state,
            "lastState": {"terminated": {"startedAt": T0, "finishedAt": T0, **last}} if last else {}}]
        status["hostIP"], status["startTime"] = "172.18.0.2", T0
    meta = _meta(f"{name}-{uid[-6:]}", uid, {**template["metadata"]["labels"], "pod-template-hash": "15d8f7c9b"},
                 ownerReferences=_owner(*owner))
    if deleting:
        meta.update(deletionTimestamp=T0, deletionGracePeriodSeconds=30)
    spec = {**template["spec"], **({"nodeName": "kind-control-plane"} if scheduled is None else {})}
    return _made({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status})


def job(name="mc", uid="j-uid", complete=False, failed=False) -> dict:
    status = {"startTime": T0, "active": 0 if (complete or failed) else 1}
    if complete:
        status.update(succeeded=1, completionTime=T0, conditions=[
            {"type": "Complete", "status": "True", "lastProbeTime": T0, "lastTransitionTime": T0}])
    if failed:
        status.update(failed=1, conditions=[{"type": "Failed", "status": "True", "lastProbeTime": T0,
                                             "lastTransitionTime": T0, "reason": "BackoffLimitExceeded",
                                             "message": "Job has reached the specified backoff limit"}])
    template = _template(name, "minio/mc:latest", restart="Never")
    return _made({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": _meta(name, uid, _labels(name), annotations={"pulumi.com/replaceUnready": "true"}),
        "spec": {"backoffLimit": 0, "completions": 1, "parallelism": 1, "template": template},
        "status": {k: v for k, v in status.items() if v}})


def claim(name="redis-data", uid="c-uid", storage_class="no-such-class", phase="Pending") -> dict:
    return _made({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": _meta(name, uid, {"app.kubernetes.io/part-of": "factorhouse-local", "factorhouse.local": "data",
                                      "factorhouse.local/stack": "factorhouse-local.dev"},
                          finalizers=["kubernetes.io/pvc-protection"]),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                 "storageClassName": storage_class, "volumeMode": "Filesystem",
                 **({"volumeName": f"pvc-{uid}"} if phase == "Bound" else {})},
        "status": {"phase": phase}})


def event(about: dict, reason: str, message: str, kind="Warning", count=1, component="kubelet") -> dict:
    meta = about["metadata"]
    return _made({
        "apiVersion": "v1", "kind": "Event",
        "metadata": _meta(f"{meta['name']}.18{abs(hash((reason, message))) % 10**12:012x}",
                          f"e-{abs(hash((meta['uid'], reason, message)))}"),
        "involvedObject": {"apiVersion": about["apiVersion"], "kind": about["kind"], "name": meta["name"],
                           "namespace": NAMESPACE, "uid": meta["uid"], "resourceVersion": "1000"},
        "reason": reason, "message": message, "type": kind, "count": count,
        "firstTimestamp": T0, "lastTimestamp": T0, "source": {"component": component},
        "reportingComponent": component, "reportingInstance": ""})


# -- running the gate -----------------------------------------------------------------

class Gate:
    def __init__(self, tmp_path: Path, looks: list, kind="deployment", name="redis", *more: str,
                 forbidden: tuple[str, ...] = ()):
        self.world = tmp_path / "world.json"
        self.world.write_text(json.dumps({"context": CONTEXT, "namespace": NAMESPACE, "looks": looks,
                                          "errors": LOOK_ERRORS, "forbidden": list(forbidden)}))
        bin_dir = stand_in(tmp_path, "kubectl", FAKE_KUBECTL)
        self.calls_file = tmp_path / "calls"
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               "KUBE_WORLD": str(self.world), "CALLS": str(self.calls_file)}
        self.result = subprocess.run(
            [sys.executable, str(SCRIPT), "--context", CONTEXT, "--namespace", NAMESPACE, "--pace", "0",
             "--timeout", "600", *more, kind, name], capture_output=True, text=True, env=env, timeout=120)
        self.line = self.result.stderr.strip()

    @property
    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()]

    @property
    def looks(self) -> int:
        return int((self.world.parent / (self.world.name + ".looks")).read_text())

    def failed_at(self, look: int, *words: str) -> None:
        """It failed at look `look` (counted from 1), in one line holding `words`."""
        assert self.result.returncode == 1, self.result
        assert self.looks == look, (self.looks, self.line)
        assert "\n" not in self.line and "Traceback" not in self.line
        for word in words:
            assert word in self.line, (word, self.line)
        assert "`make up` again" in self.line  # the way out

    def ready_at(self, look: int) -> None:
        assert self.result.returncode == 0, self.line
        assert self.looks == look
        assert " is ready (" in self.result.stdout


STARTING = [deployment(), replicaset()]
READY = [deployment(available=1), replicaset(), pod(running=True, ready=True)]


def starting(*objects: dict) -> list[dict]:
    return [*STARTING, *objects]


# -- causes that waiting will not heal --------------------------------------------------

NOT_FOUND = ('rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/redis:no-such-tag": '
             'failed to resolve reference "docker.io/library/redis:no-such-tag": '
             'docker.io/library/redis:no-such-tag: not found')


def test_an_image_the_registry_does_not_have_fails_at_once_naming_the_setting(tmp_path):
    image = "redis:no-such-tag"
    pulling = pod(image=image)
    failed = pod(image=image, waiting={"reason": "ErrImagePull", "message": NOT_FOUND})
    gate = Gate(tmp_path, [starting(pulling, event(pulling, "Pulling", f'Pulling image "{image}"', "Normal")),
                           starting(failed)], "deployment", "redis", "--image-setting", "images.redis")
    gate.failed_at(2, "redis: Deployment redis cannot start", f"image {image}: not found in its registry",
                   "set images.redis to an image that exists")


def test_a_pull_backing_off_is_judged_by_the_kubelets_own_word_on_it(tmp_path):
    image = "redis:no-such-tag"
    backing_off = pod(image=image, uid="p-uid-2", waiting={"reason": "ImagePullBackOff",
                                                          "message": f'Back-off pulling image "{image}"'})
    gate = Gate(tmp_path, [starting(pod(image=image)),
                           starting(backing_off, event(backing_off, "Failed", f'Failed to pull image "{image}": '
                                                       + NOT_FOUND))])
    gate.failed_at(2, "Deployment redis cannot start", "not found in its registry")


DENIED = ('failed to pull and unpack image "registry.corp/team/redis:7.4": failed to authorize: failed to fetch '
          'oauth token: unexpected status from GET request to https://registry.corp/token: 401 Unauthorized')


def test_a_pull_that_failed_before_the_gate_began_is_tried_again_not_taken_as_the_answer(tmp_path):
    """`make up` again after the nodes were given access to the registry (the way out the
    gate named): the pod is the one that failed, backing off for up to five minutes, its
    events still say why. Its Deployment's pod is made again, and the new one is judged."""
    stale = pod(waiting={"reason": "ImagePullBackOff", "message": 'Back-off pulling image "redis:7.4"'})
    new = pod(uid="p-uid-2", running=True, ready=True)
    gate = Gate(tmp_path, [starting(stale, event(stale, "Failed", f'Failed to pull image "redis:7.4": {DENIED}')),
                           starting(pod(uid="p-uid-2")),
                           [deployment(available=1), replicaset(), new]])
    gate.ready_at(3)
    assert [a for a in gate.calls[1] if not a.startswith("-") and a not in (CONTEXT, NAMESPACE)] == [
        "delete", "pod", stale["metadata"]["name"]]


def test_a_pull_still_refused_after_the_pod_was_made_again_fails(tmp_path):
    stale = pod(waiting={"reason": "ImagePullBackOff", "message": 'Back-off pulling image "redis:7.4"'})
    again = pod(uid="p-uid-2", waiting={"reason": "ErrImagePull", "message": DENIED})
    gate = Gate(tmp_path, [starting(stale, event(stale, "Failed", f'Failed to pull image "redis:7.4": {DENIED}')),
                           starting(again)])
    gate.failed_at(2, "Deployment redis cannot start", "may not be pulled")


@pytest.mark.parametrize("message", [
    'failed to pull and unpack image "registry.corp/team/flink:abc": failed to authorize: failed to fetch oauth '
    'token: unexpected status from GET request to https://registry.corp/token: 401 Unauthorized',
    'Error response from daemon: pull access denied for corp/private, repository does not exist or may require '
    "'docker login': denied: requested access to the resource is denied",
])
def test_an_image_that_may_not_be_pulled_fails_at_once(tmp_path, message):
    gate = Gate(tmp_path, [starting(pod()), starting(pod(waiting={"reason": "ErrImagePull", "message": message}))])
    gate.failed_at(2, "Deployment redis cannot start", "image redis:7.4")
    assert "may not be pulled" in gate.line or "not found in its registry" in gate.line


def test_a_storage_class_that_does_not_exist_fails_at_once_and_its_never_bound_claim_is_removed(tmp_path):
    data = claim()
    unscheduled = pod(claim="redis-data", scheduled={
        "message": "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 "
                   "nodes are available: 1 Preemption is not helpful for scheduling."})
    gate = Gate(tmp_path, [
        [deployment(claim="redis-data"), replicaset(claim="redis-data"), data, unscheduled],
        [deployment(claim="redis-data"), replicaset(claim="redis-data"), data, unscheduled,
         event(data, "ProvisioningFailed", 'storageclass.storage.k8s.io "no-such-class" not found',
               component="persistentvolume-controller")]])
    gate.failed_at(2, "redis: Deployment redis cannot start: claim redis-data cannot be provisioned",
                   "storage class no-such-class does not exist", "set storageClass",
                   "claim redis-data never held data and was removed")
    assert ["delete", "persistentvolumeclaim", "redis-data"] == [a for a in gate.calls[-1] if not a.startswith("-")
                                                                 and a not in (CONTEXT, NAMESPACE)]


def test_a_claim_that_keeps_failing_to_provision_fails_and_one_failure_does_not(tmp_path):
    data = claim(storage_class="standard")
    unscheduled = pod(claim="redis-data", scheduled={
        "message": "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 "
                   "nodes are available: 1 Preemption is not helpful for scheduling."})
    failing = "failed to provision volume with StorageClass \"standard\": rpc error: code = ResourceExhausted desc = quota"
    looks = [[deployment(claim="redis-data"), replicaset(claim="redis-data"), data, unscheduled,
              event(data, "ProvisioningFailed", failing, count=count, component="rancher.io/local-path")]
             for count in (1, 2, 3)]
    Gate(tmp_path, looks).failed_at(3, "claim redis-data cannot be provisioned", "failed 3 times")


def test_a_claim_event_of_an_earlier_claim_of_that_name_is_not_this_ones(tmp_path):
    old = claim(uid="old-claim-uid")
    new = claim(uid="new-claim-uid", storage_class="standard")
    waiting = pod(claim="redis-data", scheduled={
        "message": "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 "
                   "nodes are available: 1 Preemption is not helpful for scheduling."})
    stale = event(old, "ProvisioningFailed", 'storageclass.storage.k8s.io "no-such-class" not found')
    Gate(tmp_path, [[deployment(claim="redis-data"), replicaset(claim="redis-data"), new, waiting, stale],
                    [*READY, claim(uid="new-claim-uid", storage_class="standard", phase="Bound"), stale]]).ready_at(2)


@pytest.mark.parametrize("message, words", [
    ("0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption "
     "victims found for incoming pod.", "profile lite"),
    ("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. preemption: "
     "0/3 nodes are available: 3 Preemption is not helpful for scheduling.", "give its nodes more"),
    ("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are "
     "available: 1 Preemption is not helpful for scheduling.", "label a node"),
])
def test_a_pod_no_node_can_take_fails_at_once(tmp_path, message, words):
    gate = Gate(tmp_path, [starting(pod(scheduled={"message": message}))])
    gate.failed_at(1, "redis: Deployment redis cannot start: no node can take its pod", message[:40], words)


def test_a_crash_loop_before_the_check_passed_fails_with_the_last_lines_of_its_log(tmp_path):
    crashed = {"exitCode": 1, "reason": "Error", "message": "starting redis\nFATAL CONFIG FILE ERROR: bad directive\n"}
    back_off = lambda restarts: pod(restarts=restarts, last=crashed, waiting={  # noqa: E731
        "reason": "CrashLoopBackOff",
        "message": f"back-off {10 * restarts}s restarting failed container=redis pod=redis-p-uid-1_{NAMESPACE}(p-uid-1)"})
    gate = Gate(tmp_path, [starting(pod(running=True)), starting(back_off(1)), starting(back_off(2))])
    gate.failed_at(3, "redis: Deployment redis cannot start: its container stopped 2 times before its health check "
                      "passed (exit code 1: starting redis | FATAL CONFIG FILE ERROR: bad directive)",
                   f"kubectl --context {CONTEXT} --namespace {NAMESPACE} logs deployment/redis --previous")


def test_a_crash_loop_met_at_the_gates_start_fails_only_after_a_crash_it_saw(tmp_path):
    crashed = {"exitCode": 137, "reason": "OOMKilled"}
    back_off = lambda restarts: pod(restarts=restarts, last=crashed, waiting={  # noqa: E731
        "reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"})
    gate = Gate(tmp_path, [starting(back_off(7)), starting(pod(running=True, restarts=7, last=crashed)),
                           starting(back_off(8))])
    gate.failed_at(3, "stopped 8 times", "OOMKilled")


def test_a_job_that_failed_fails_with_its_last_lines(tmp_path):
    owner = ("Job", "mc", "j-uid")
    done = pod("mc", owner=owner, image="minio/mc:latest", restart="Never", terminated={
        "exitCode": 1, "reason": "Error", "message": "mc: <ERROR> Unable to make bucket `local/warehouse`. Access Denied."})
    gate = Gate(tmp_path, [[job(), pod("mc", owner=owner, image="minio/mc:latest", running=True, restart="Never")],
                           [job(failed=True), done]], "job", "mc")
    gate.failed_at(2, "mc: Job mc failed (BackoffLimitExceeded: exit code 1: mc: <ERROR> Unable to make bucket",
                   "(it runs the Job anew)")


# -- slow but healthy: it waits -------------------------------------------------------------

def test_a_slow_pull_a_transient_error_and_a_slow_check_are_waited_for(tmp_path):
    pulling = pod()
    gate = Gate(tmp_path, [
        STARTING,  # no pod yet
        starting(pulling, event(pulling, "Pulling", 'Pulling image "redis:7.4"', "Normal")),
        starting(pod(waiting={"reason": "ErrImagePull", "message": 'failed to pull and unpack image "docker.io/library'
                              '/redis:7.4": failed to copy: httpReadSeeker: failed open: failed to do request: Get '
                              '"https://production.cloudflare.docker.com/": dial tcp 104.16.0.1:443: i/o timeout'})),
        starting(pod(waiting={"reason": "ImagePullBackOff", "message": 'Back-off pulling image "redis:7.4"'})),
        starting(pod(running=True)),  # its check not passed yet
        starting(pod(running=True)),
        READY])
    gate.ready_at(7)


def test_a_node_not_ready_yet_and_one_crash_are_waited_for(tmp_path):
    gate = Gate(tmp_path, [
        starting(pod(scheduled={"message": "0/1 nodes are available: 1 node(s) had untolerated taint "
                                           "{node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 "
                                           "Preemption is not helpful for scheduling."})),
        starting(pod(restarts=1, last={"exitCode": 1, "reason": "Error"}, waiting={
            "reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"})),
        READY])
    gate.ready_at(3)


def test_an_autoscaler_adding_a_node_is_waited_for(tmp_path):
    unscheduled = pod(scheduled={"message": "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes "
                                            "are available: 1 No preemption victims found for incoming pod."})
    scale_up = event(unscheduled, "TriggeredScaleUp", "pod triggered scale-up: [{pool-1 1->2 (max: 5)}]", "Normal",
                     component="cluster-autoscaler")
    Gate(tmp_path, [starting(unscheduled, scale_up), READY]).ready_at(2)


def test_after_a_fix_only_the_new_revisions_pod_is_judged(tmp_path):
    """The image fixed: until the controller saw the change, and while the old pod stops,
    the old pod's failure is not this revision's."""
    old = pod(image="redis:no-such-tag", waiting={"reason": "ErrImagePull", "message": NOT_FOUND})
    new_rs = replicaset(revision="2")
    new = pod(uid="p-uid-2", owner=("ReplicaSet", new_rs["metadata"]["name"], "rs-uid-2"), running=True, ready=True)
    Gate(tmp_path, [
        [deployment(generation=2, observed=1), replicaset(), old],
        [deployment(generation=2, observed=2, revision="2", updated=0), replicaset(), new_rs,
         pod(image="redis:no-such-tag", deleting=True, waiting={"reason": "ErrImagePull", "message": NOT_FOUND})],
        [deployment(generation=2, observed=2, revision="2", available=1), replicaset(), new_rs, new]]).ready_at(3)


def test_a_job_that_completed_and_a_cluster_that_dropped_a_look_and_timed_out(tmp_path):
    owner = ("Job", "mc", "j-uid")
    Gate(tmp_path, [[job()], "unreachable", "timeout", [job(complete=True), pod("mc", owner=owner, restart="Never",
                                                                     image="minio/mc:latest",
                                                                     terminated={"exitCode": 0, "reason": "Completed"})]],
         "job", "mc").ready_at(4)


def test_a_user_who_may_not_read_pods_or_claims_is_told_at_once(tmp_path):
    gate = Gate(tmp_path, [starting(pod())], forbidden=("pods",))
    assert gate.result.returncode == 1 and "\n" not in gate.line
    assert gate.line.startswith("redis: Deployment redis cannot be waited for: kubectl may not read its pods, "
                                "claims or events (Error from server (Forbidden): pods is forbidden")
    assert "`admin` role" in gate.line and "`make up` again" in gate.line


EVENTS_UNREAD = "redis: kubectl may not read the namespace's events"


def _gets(gate: Gate) -> list[str]:
    return [call[call.index("get") + 1] for call in gate.calls if "get" in call]


@pytest.mark.parametrize("looks, words", [
    ([starting(pod()), starting(pod(waiting={"reason": "ErrImagePull", "message": NOT_FOUND}))],
     ["cannot start: image redis:7.4: not found in its registry"]),
    ([starting(pod(running=True)), *[starting(pod(restarts=n, last={"exitCode": 1, "reason": "Error"}, waiting={
        "reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"})) for n in (1, 2)]],
     ["cannot start: its container stopped 2 times"]),
    ([starting(pod(running=True)), starting(pod(scheduled={
        "message": "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No "
                   "preemption victims found for incoming pod."}))],
     ["cannot start: no node can take its pod", "a node a cluster autoscaler adds is not seen"]),
], ids=["image", "crash-loop", "unschedulable"])
def test_a_user_who_may_not_read_events_is_judged_by_what_the_pods_say(tmp_path, looks, words):
    """The registry's word is in the pod's waiting message, the scheduler's in its
    PodScheduled condition, a crash loop in its restart count: events are not needed."""
    gate = Gate(tmp_path, looks, forbidden=("events",))
    gate.failed_at(len(looks), *words)
    gets = _gets(gate)
    assert gets[0].endswith(",events") and gets[1:] and all("events" not in g for g in gets[1:]), gets
    notices = [line for line in gate.result.stdout.splitlines() if line.startswith(EVENTS_UNREAD)]
    assert len(notices) == 1 and "a claim that cannot be provisioned is not told apart from a slow one" in notices[0]


def test_a_user_who_may_not_read_events_waits_for_a_claim_and_a_job(tmp_path):
    """Whether a claim can be provisioned only its events tell: without them the gate
    waits for it (here: bound at the third look), as for a Job to complete."""
    data = claim(storage_class="standard")
    unscheduled = pod(claim="redis-data", scheduled={
        "message": "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 "
                   "nodes are available: 1 Preemption is not helpful for scheduling."})
    pending = [deployment(claim="redis-data"), replicaset(claim="redis-data"), data, unscheduled]
    gate = Gate(tmp_path, [pending, pending, [*READY, claim(storage_class="standard", phase="Bound")]],
                forbidden=("events",))
    gate.ready_at(3)
    assert gate.result.stdout.count(EVENTS_UNREAD) == 1
    owner = ("Job", "mc", "j-uid")
    jobs = tmp_path / "job"
    jobs.mkdir()
    Gate(jobs, [[job(), pod("mc", owner=owner, image="minio/mc:latest", running=True, restart="Never")],
                [job(complete=True)]], "job", "mc", forbidden=("events",)).ready_at(2)


@pytest.mark.parametrize("error", ["unauthorized", "exec", "plugin"])
def test_credentials_refused_or_not_to_be_had_fail_at_once_naming_the_context(tmp_path, error):
    gate = Gate(tmp_path, [error, READY])
    gate.failed_at(1, f"redis: Deployment redis cannot be waited for: kubectl cannot log in to the cluster of "
                      f"context {CONTEXT} ({LOOK_ERRORS[error]})", "log in to the cluster again",
                   f"renew the credentials of kubeconfig context {CONTEXT}")


def test_the_gate_asks_only_the_context_and_namespace_it_was_given_once_a_look(tmp_path):
    # another service's pod of the namespace that cannot start is not this one's
    other = pod("kafka-1", uid="p-uid-k", owner=("ReplicaSet", "kafka-1-15d8f7c9b", "rs-uid-k"),
                waiting={"reason": "ErrImagePull", "message": NOT_FOUND})
    gate = Gate(tmp_path, [starting(other), [*READY, other]])
    gate.ready_at(2)
    assert gate.calls == [["--context", CONTEXT, "--namespace", NAMESPACE, "get",
                           "deployments,replicasets,pods,persistentvolumeclaims,events", "--output", "json",
                           "--request-timeout=20s"]] * 2


def test_not_ready_at_the_timeout_says_what_it_waited_for(tmp_path):
    world = tmp_path / "slow"
    world.mkdir()
    gate = Gate(world, [starting(pod(running=True))], "deployment", "redis", "--timeout", "0")
    assert gate.result.returncode == 1
    assert "redis: Deployment redis is not ready after 0s (waiting for its health check has not passed yet)" in gate.line


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_served_is_one_the_api_server_gives(version):
    assert len({o["kind"] for o in EVERY_OBJECT}) == 6
    for obj in EVERY_OBJECT:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {where}: {error.message} ({version})")


# -- the program, under mocks --------------------------------------------------------------

PASSWORDS = {"minioPassword": "minio-on-k8s", "postgresPassword": "pg-on-k8s", "redisPassword": "redis-on-k8s"}


def k8s_run(**more):
    return run_program({"engine": "kubernetes", "kubeContext": "kind-dev", "stacks": json.dumps(["analytics", "redis"]),
                        **PASSWORDS, **more})


def test_every_workload_has_a_gate_on_its_context_and_namespace_and_dependents_wait_on_it():
    run = k8s_run()
    workloads = [r for r in run.registrations if r.type in ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job")]
    assert {w.name for w in workloads} >= {"minio", "mc", "redis"}
    for workload in workloads:
        gate = run.one(COMMAND, f"{workload.name}-ready")
        assert workload.name in run.depends_on(gate)
        args = shlex.split(gate["create"])
        kind = "job" if workload.type.endswith("Job") else "deployment"
        assert args[:2] == ["python3", "scripts/wait_workload.py"] and args[-2:] == [kind, workload.name]
        assert args[args.index("--context") + 1] == "kind-dev"
        assert args[args.index("--namespace") + 1] == "factorhouse-dev"
        assert int(args[args.index("--timeout") + 1]) == 1200
        assert gate["dir"] == str(PROJECT_DIR)
    # the redis image is a setting: a missing one is named by it
    redis = shlex.split(run.one(COMMAND, "redis-ready")["create"])
    assert redis[redis.index("--image-setting") + 1] == "images.redis"
    # what needs a service waits on its gate: the buckets on MinIO ready, the rest on them made
    assert "minio-ready" in run.depends_on(run.one("kubernetes:batch/v1:Job", "mc"))
    assert "mc-ready" in run.depends_on(run.one("kubernetes:apps/v1:Deployment", "rest"))


def test_the_gate_runs_again_for_a_new_pod_template_and_not_otherwise():
    def trigger(**more):
        return k8s_run(**more).one(COMMAND, "redis-ready")["triggers"]
    assert trigger() == trigger()
    assert trigger() != trigger(images=json.dumps({"redis": "redis:7.4.1"}))


def test_a_preview_of_a_new_stack_leaves_every_gate_to_run_and_the_up_triggers_it_by_uid():
    """In a preview a workload to be made has no uid (the harness gives the program what
    the real provider gives, docs/engine.md "Previews"): its gate's trigger is unknown, not
    a value the update will not give; after the up it is the workload's uid and template."""
    from harness import is_unknown
    preview = run_program({"engine": "kubernetes", "kubeContext": "kind-dev",
                           "stacks": json.dumps(["analytics", "redis"]), **PASSWORDS}, preview=True)
    up = k8s_run()
    gates = {run: {g.name: g.raw["triggers"][0] for g in run.of_type(COMMAND) if g.name.endswith("-ready")}
             for run in (preview, up)}
    assert set(gates[preview]) == set(gates[up]) >= {"minio-ready", "mc-ready", "redis-ready"}
    assert all(is_unknown(trigger) for trigger in gates[preview].values())
    for name, trigger in gates[up].items():
        uid, digest = trigger.split("/")
        assert uid and len(digest) == 16, name


def test_without_kubectl_it_says_so_in_one_line_with_the_way_out(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = subprocess.run([sys.executable, str(SCRIPT), "--context", CONTEXT, "--namespace", NAMESPACE,
                             "deployment", "redis"], capture_output=True, text=True, env={"PATH": str(empty)},
                            timeout=60)
    line = result.stderr.strip()
    assert result.returncode == 1 and "\n" not in line
    assert line.startswith("redis: cannot wait for deployment redis: the kubectl command is not on PATH")
    assert "install kubectl" in line and "`make up` again" in line
