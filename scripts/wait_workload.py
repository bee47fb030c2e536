#!/usr/bin/env python3
"""Waits until a workload of the platform on Kubernetes is ready (a Deployment rolled out,
its pod's readiness probe, the health check, passed) or completed (a Job), and fails
within seconds of a cause that waiting will not heal.

    wait_workload.py --context C --namespace N [--timeout S] [--pace S]
                     [--image-setting KEY] (deployment|job) NAME

Every `--pace` seconds (default 1) it reads, in one `kubectl --context C --namespace N get
... -o json`, the namespace's workloads of that kind, ReplicaSets, pods, claims and events,
as the API server gives them; the workload's are those labelled
app.kubernetes.io/name=NAME. It decides:

- done: a Deployment whose controller saw its last change and whose pods are all of it
  and available (as `kubectl rollout status` decides), a Job with condition Complete;
- failed at once, in one line naming the service, the object, the cause and the way out:
  an image the registry says does not exist or may not be pulled (ErrImagePull,
  ImagePullBackOff or a kubelet's Failed event saying not found, manifest unknown,
  unauthorized, denied; InvalidImageName), a claim whose storage class does not exist or
  that failed to provision three times (ProvisioningFailed), a claim without a storage
  class on a cluster without a default one, a pod that no node can take for a reason
  waiting will not change (every reason of its Unschedulable condition is insufficient
  memory or CPU, or a node selector or affinity nothing matches, and no cluster
  autoscaler said it scales up), a container that crashed twice without passing its
  check (at least once while this gate watched), a Job whose condition Failed is True;
- failed at once, too, when kubectl cannot log in to the cluster (its credentials
  refused: `You must be logged in to the server`; or not to be had: `getting
  credentials: exec: ...`, `exec plugin: ...`), naming the context, or may not read the
  workload's pods or claims;
- otherwise it keeps waiting (a pull in progress, a transient pull error such as a
  timeout, a check not yet passed, a dropped connection or a timeout of kubectl), up to
  `--timeout` seconds.

A user who may not list events (RBAC) is told so once, in one line on stdout, and from
then on the gate looks without them, judging from what the pods and the workload say (a
container's waiting message holds the registry's word, the PodScheduled condition the
scheduler's, its restart count and last state a crash loop): a claim that cannot be
provisioned, which only its events tell, is then waited for like a slow one, and a node
a cluster autoscaler adds is not seen.

A Deployment's pod that had already failed to pull its image at the first look (a `make
up` run again after the registry was put right: the kubelet backs off for up to five
minutes, and the pod's events still hold the old cause) is deleted once, so that its
ReplicaSet makes a new one that pulls at once, and the new one is judged.

Only the pods of the workload's current revision are judged (a Deployment's newest
ReplicaSet, once its controller saw the last change; a Job's own pods by uid), and only
events of the objects as they are now (by uid): nothing an earlier, replaced object went
through. A claim that failed to provision and was never bound (it holds no data: no
volume was ever made for it) is deleted before the gate fails, so that the next `make up`
(which refreshes) makes it anew with the storage class the settings name then; a
claim's storage class cannot change in place.

It exits 0 once done, 1 with the line on stderr otherwise. Standard library only: the
Pulumi command resource runs it with any python3.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Optional

PACE = 1.0  # seconds between two looks
NAME_LABEL = "app.kubernetes.io/name"
DATA_LABEL = "factorhouse.local"  # =data on every claim the program makes
REQUEST_TIMEOUT = 20  # seconds kubectl gets for one request
PROVISIONING_TRIES = 3  # failed provisioning attempts of a storage class that exists
CRASHES = 2  # crashes without a passed check that make a crash loop

# what a registry or the kubelet says when an image does not exist or may not be pulled
IMAGE_MISSING = re.compile(r"not found|manifest unknown|name unknown|repository does not exist|no such image",
                           re.IGNORECASE)
IMAGE_DENIED = re.compile(r"unauthorized|denied|authentication required|forbidden|insufficient_scope",
                          re.IGNORECASE)
# what a scheduler says of a node that waiting will not change
LASTING = re.compile(r"^Insufficient \S+$|didn't match Pod's node affinity/selector|"
                     r"didn't match pod's node affinity/selector|node affinity conflict")
# what kubectl says when the cluster refused its credentials or it could not get them (an
# expired token or certificate, an exec plugin that fails): no wait will change that
CREDENTIALS = re.compile(r"You must be logged in to the server|getting credentials:|exec plugin:")
# what RBAC says to a user who may not list events
EVENTS_FORBIDDEN = re.compile(r"\bevents(?:\.events\.k8s\.io)? is forbidden\b")


class Unreachable(Exception):
    """kubectl failed (a dropped connection, an API server restarting): tried again until
    the deadline."""


class Forbidden(Exception):
    """The user may not read what the gate reads: no wait will change that."""


class EventsForbidden(Forbidden):
    """The user may read all but the namespace's events."""


class LoggedOut(Exception):
    """The cluster refused kubectl's credentials, or kubectl could not get them."""


@dataclass
class Look:
    """What one look at the namespace found."""
    workload: Optional[dict]
    replicasets: list[dict] = field(default_factory=list)
    pods: list[dict] = field(default_factory=list)
    claims: dict[str, dict] = field(default_factory=dict)  # by name
    events: list[dict] = field(default_factory=list)


@dataclass
class Verdict:
    done: bool = False
    failure: Optional[str] = None  # the cause and the way out, once it cannot heal
    waiting: str = ""  # what it waits for, for the timeout's line
    remove_claims: tuple[str, ...] = ()  # never-bound claims to delete before failing
    remake_pods: tuple[str, ...] = ()  # pods to delete (their ReplicaSet makes them again), then look again


# -- reading ---------------------------------------------------------------------------

class Kubectl:
    def __init__(self, context: str, namespace: str):
        self.context = context
        self.prefix = ["kubectl", "--context", context, "--namespace", namespace]

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *args, f"--request-timeout={REQUEST_TIMEOUT}s"], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL)

    def items(self, *args: str) -> list[dict]:
        """The items kubectl gets. Raises LoggedOut, EventsForbidden (only events refused:
        kubectl printed the rest, which is not taken), Forbidden, Unreachable."""
        result = self("get", *args, "--output", "json")
        if result.returncode != 0:
            said = " ".join(result.stderr.split())[-300:] or f"kubectl exited {result.returncode}"
            if CREDENTIALS.search(result.stderr):
                raise LoggedOut(said)
            refused = [line for line in result.stderr.splitlines() if "forbidden" in line.lower()]
            if refused and all(EVENTS_FORBIDDEN.search(line) for line in refused):
                raise EventsForbidden(said)
            if refused:
                raise Forbidden(said)
            raise Unreachable(said)
        return json.loads(result.stdout).get("items", [])

    def user(self) -> str:
        """The kubectl command a user types for this namespace."""
        return shlex.join(self.prefix)


def look(kubectl: Kubectl, kind: str, name: str, events: bool = True) -> Look:
    """One look, one kubectl call (a gate per workload, every second: one process each);
    the namespace's events too when `events`."""
    kinds = "deployments,replicasets,pods" if kind == "deployment" else "jobs,pods"
    found = Look(None)
    for item in kubectl.items(f"{kinds},persistentvolumeclaims" + (",events" if events else "")):
        mine = ((item.get("metadata") or {}).get("labels") or {}).get(NAME_LABEL) == name
        if item.get("kind") in ("Deployment", "Job"):
            if mine and item["metadata"]["name"] == name:
                found.workload = item
        elif item.get("kind") == "ReplicaSet" and mine:
            found.replicasets.append(item)
        elif item.get("kind") == "Pod" and mine:
            found.pods.append(item)
        elif item.get("kind") == "PersistentVolumeClaim":
            found.claims[item["metadata"]["name"]] = item
        elif item.get("kind") == "Event":
            found.events.append(item)
    return found


def look_as_allowed(kubectl: Kubectl, kind: str, name: str, events: bool) -> tuple[Look, bool]:
    """One look, with the events while they may be read: (the look, whether they may).
    The first time events are refused, it says so in one line on stdout and looks
    again without them; a user who may not read the rest gets Forbidden."""
    if events:
        try:
            return look(kubectl, kind, name), True
        except EventsForbidden as error:
            print(f"{name}: kubectl may not read the namespace's events ({_short(str(error), 200)}); the gate judges "
                  f"from the pods, claims and workload alone: a claim that cannot be provisioned is not told apart "
                  f"from a slow one, nor is a node a cluster autoscaler adds seen, so it waits for those",
                  flush=True)
    return look(kubectl, kind, name, events=False), False


# -- judging ---------------------------------------------------------------------------

def _condition(obj: dict, kind: str) -> Optional[dict]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def _events(look: Look, obj: dict) -> list[dict]:
    """The events of this very object (its uid: not of an earlier one of the same name), oldest first."""
    uid = obj["metadata"].get("uid")
    mine = [e for e in look.events if (e.get("involvedObject") or {}).get("uid") == uid]
    return sorted(mine, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")


def _short(text: str, limit: int = 300) -> str:
    """One line: the last `limit` characters of a message's lines, joined."""
    line = " | ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return line if len(line) <= limit else "..." + line[-(limit - 3):]


def rolled_out(deployment: dict) -> tuple[bool, str]:
    """(done, what it waits for), as `kubectl rollout status` decides."""
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    if status.get("observedGeneration", 0) < deployment["metadata"].get("generation", 1):
        return False, "its controller to see the last change"
    wanted = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    if updated < wanted:
        return False, f"{updated} of {wanted} pods of its last change made"
    if status.get("replicas", 0) > updated:
        return False, "its old pod to stop"
    if status.get("availableReplicas", 0) < updated:
        return False, "its pod to pass its health check (ready)"
    return True, ""


def current_pods(look: Look, kind: str) -> list[dict]:
    """The pods of the workload as it is now, not terminating: a Deployment's newest
    ReplicaSet's (once its controller saw the last change), a Job's own."""
    workload = look.workload
    if kind == "job":
        owners = {workload["metadata"].get("uid")}
    else:
        if (workload.get("status") or {}).get("observedGeneration", 0) < workload["metadata"].get("generation", 1):
            return []
        revision = (workload["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")
        owners = {rs["metadata"].get("uid") for rs in look.replicasets
                  if revision and (rs["metadata"].get("annotations") or {}).get(
                      "deployment.kubernetes.io/revision") == revision
                  and any(o.get("uid") == workload["metadata"].get("uid")
                          for o in rs["metadata"].get("ownerReferences") or [])}
    return [p for p in look.pods if not p["metadata"].get("deletionTimestamp")
            and any(o.get("uid") in owners for o in p["metadata"].get("ownerReferences") or [])]


def image_failure(pod: dict, status: dict, events: list[dict], setting: str) -> Optional[str]:
    """An image the registry says does not exist or may not be pulled."""
    waiting = (status.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason", "")
    # as the program named it (the status may hold it normalised: docker.io/library/...)
    image = next((c.get("image") for c in pod["spec"]["containers"] if c["name"] == status.get("name")),
                 status.get("image") or "?")
    where = (f"set {setting} to an image that exists" if setting else "check the image's name and registry") + \
        ", then run `make up` again"
    if reason == "InvalidImageName":
        return f"image {image} is not a valid image name ({_short(waiting.get('message', ''))}); {where}"
    if reason not in ("ErrImagePull", "ImagePullBackOff"):
        return None
    # the kubelet's own word on the pull, newest last: the waiting message (ImagePullBackOff's
    # may only say it backs off), then its Failed events
    said = [waiting.get("message", "")] + [e.get("message", "") for e in events
                                           if e.get("reason") == "Failed" and image in e.get("message", "")]
    for message in reversed(said):
        if IMAGE_DENIED.search(message):  # a registry may say so of a repository it does not have, too
            return (f"image {image} may not be pulled: the registry refused it, it does not exist there or needs a "
                    f"login ({_short(message)}); give the cluster's nodes access to the registry, or {where}")
        if IMAGE_MISSING.search(message):
            return f"image {image}: not found in its registry ({_short(message)}); {where}"
    return None  # a pull that may still work: a timeout, a registry busy


def schedule_failure(pod: dict, events: list[dict], events_read: bool = True) -> Optional[str]:
    """A pod that no node can take, for reasons waiting will not change (`events_read`:
    False when the user may not read events, so no autoscaler's word could be seen)."""
    scheduled = _condition(pod, "PodScheduled")
    if not scheduled or scheduled.get("status") != "False" or scheduled.get("reason") != "Unschedulable":
        return None
    message = scheduled.get("message", "")
    if any(e.get("reason") == "TriggeredScaleUp" for e in events):
        return None  # a cluster autoscaler adds a node
    match = re.match(r"\s*0/(\d+) nodes are available: (.*?)(?:\. preemption: .*)?\.?\s*$", message)
    if not match:
        return None
    reasons = [re.sub(r"^\d+ ", "", r.strip()) for r in match.group(2).split(", ")]
    if not reasons or not all(LASTING.search(r) for r in reasons):
        return None
    if any(r.startswith("Insufficient") for r in reasons):
        way = ("lower what runs on the cluster (profile lite, fewer stacks) or give its nodes more, then run "
               "`make up` again")
    else:
        way = "label a node so that it matches, or use a cluster whose nodes do, then run `make up` again"
    unseen = "" if events_read else (" (events may not be read, so a node a cluster autoscaler adds is not seen: "
                                     "if one does, run `make up` again once it is there)")
    return f"no node can take its pod ({_short(message)}){unseen}; {way}"


def crash_failure(status: dict, first_restarts: int, log: str) -> Optional[str]:
    """A container that crashed again and again without passing its check."""
    waiting = (status.get("state") or {}).get("waiting") or {}
    restarts = status.get("restartCount", 0)
    if waiting.get("reason") != "CrashLoopBackOff" or restarts < CRASHES or restarts <= first_restarts:
        return None
    last = (status.get("lastState") or {}).get("terminated") or {}
    why = f"exit code {last.get('exitCode', '?')}"
    if last.get("reason") == "OOMKilled":
        why = "killed for want of memory (OOMKilled: its memory limit is too small)"
    said = f": {_short(last['message'])}" if last.get("message") else ""
    return (f"its container stopped {restarts} times before its health check passed ({why}{said}); read its log "
            f"with `{log} --previous`, fix the cause, then run `make up` again")


def claim_failure(look: Look, claim_name: str) -> tuple[Optional[str], bool]:
    """(cause, whether the claim never bound) of a claim that cannot be provisioned."""
    claim = look.claims.get(claim_name)
    if claim is None or (claim.get("status") or {}).get("phase") != "Pending":
        return None, False
    never_bound = not (claim.get("spec") or {}).get("volumeName")
    cls = (claim.get("spec") or {}).get("storageClassName")
    way = ("set storageClass to one of the cluster's (`kubectl get storageclass`; empty for its default) and run "
           "`make up` again")
    for event in reversed(_events(look, claim)):
        message = event.get("message", "")
        if event.get("reason") == "ProvisioningFailed":
            if re.search(r'storageclass\.storage\.k8s\.io "[^"]*" not found', message):
                return (f"claim {claim_name} cannot be provisioned: its storage class {cls} does not exist "
                        f"({_short(message)}); {way}"), never_bound
            if event.get("count", 1) >= PROVISIONING_TRIES:
                return (f"claim {claim_name} cannot be provisioned: its storage class {cls} failed "
                        f"{event.get('count')} times ({_short(message)}); {way}"), never_bound
        if event.get("reason") == "FailedBinding" and "no storage class is set" in message:
            return (f"claim {claim_name} has no storage class and the cluster has no default one "
                    f"({_short(message)}); {way}"), never_bound
    return None, False


def assess(look: Look, kind: str, name: str, first_restarts: dict[str, int], setting: str = "",
           log: str = "kubectl logs", first: bool = False, events_read: bool = True) -> Verdict:
    """What one look says. `first_restarts`: each container's restart count when this
    gate first saw its pod (filled in here), so that only crashes it watched count; `log`:
    the command that shows the workload's log; `first`: this is the gate's first look;
    `events_read`: the look holds the namespace's events (the user may read them). A
    Deployment's pod that had failed to pull its image before this gate began (a `make up`
    run again after the registry or the nodes' access to it was put right: the kubelet
    backs off for up to five minutes, and the pod's events still say why it failed) is not
    taken as the answer: it is made again, once, and the new one judged."""
    workload = look.workload
    if workload is None:
        return Verdict(failure="does not exist in the namespace; run `make up` to make it")
    if kind == "job":
        failed = _condition(workload, "Failed")
        if failed and failed.get("status") == "True":
            said = [((s.get("state") or {}).get("terminated") or {}) for p in current_pods(look, kind)
                    for s in (p.get("status") or {}).get("containerStatuses") or []]
            lines = "; ".join(f"exit code {t.get('exitCode')}" + (f": {_short(t['message'])}" if t.get("message")
                                                                 else "") for t in said if t)
            return Verdict(failure=f"failed ({failed.get('reason', 'Failed')}: "
                                   f"{lines or failed.get('message', 'no message')}); read its log with `{log}`, "
                                   f"fix the cause, then run `make up` again (it runs the Job anew)")
        complete = _condition(workload, "Complete")
        if complete and complete.get("status") == "True":
            return Verdict(done=True)
        waiting = "it to complete"
    else:
        done, waiting = rolled_out(workload)
        if done:
            return Verdict(done=True)
    for pod in current_pods(look, kind):
        events = _events(look, pod)
        cause = schedule_failure(pod, events, events_read)
        for status_ in (pod.get("status") or {}).get("containerStatuses") or []:
            key = f"{pod['metadata'].get('uid')}/{status_.get('name')}"
            first_restarts.setdefault(key, status_.get("restartCount", 0))
            pulled = None if cause else image_failure(pod, status_, events, setting)
            if pulled and first and kind == "deployment":
                return Verdict(waiting="its pod that failed to pull its image before this wait began, made again",
                               remake_pods=(pod["metadata"]["name"],))
            cause = cause or pulled or crash_failure(status_, first_restarts[key], log)
        if cause:
            return Verdict(failure=f"cannot start: {cause}")
        # a pod waiting for its claims: is one of them never to be provisioned?
        scheduled = _condition(pod, "PodScheduled")
        if not (scheduled and scheduled.get("status") == "True"):
            for volume in pod["spec"].get("volumes") or []:
                claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                cause, never_bound = claim_failure(look, claim_name) if claim_name else (None, False)
                if cause:
                    claim = look.claims[claim_name]
                    ours = (claim["metadata"].get("labels") or {}).get(DATA_LABEL) == "data"
                    return Verdict(failure=f"cannot start: {cause}",
                                   remove_claims=(claim_name,) if never_bound and ours else ())
        waiting = _pod_progress(pod) or waiting
    return Verdict(waiting=waiting)


def _pod_progress(pod: dict) -> str:
    """What a pod is doing, in a few words (for the line at the timeout)."""
    scheduled = _condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        return f"not scheduled: {_short(scheduled.get('message', ''), 200)}"
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting")
        if waiting:
            return f"{waiting.get('reason')}: {_short(waiting.get('message', ''), 200)}".rstrip(": ")
        if not status.get("ready"):
            return "its health check has not passed yet"
    return ""


# -- waiting ---------------------------------------------------------------------------

def refusal(kubectl: Kubectl, error: Exception) -> str:
    """The cause and the way out of a refusal that no wait heals (Forbidden, LoggedOut)."""
    if isinstance(error, LoggedOut):
        return (f"kubectl cannot log in to the cluster of context {kubectl.context} ({error}); log in to the cluster "
                f"again (renew the credentials of kubeconfig context {kubectl.context}, e.g. with the login command "
                f"of its cloud or exec plugin), then run `make up` again")
    return (f"kubectl may not read its pods, claims or events ({error}); ask for the namespace's `admin` role "
            f"(docs/kubernetes.md), then run `make up` again")


def wait(kubectl: Kubectl, kind: str, name: str, timeout: float, pace: float, setting: str = "") -> Optional[str]:
    """None once done, else the line that says why not."""
    title = f"{name}: {'Job' if kind == 'job' else 'Deployment'} {name}"
    log = f"{kubectl.user()} logs {kind}/{name}"
    deadline = time.monotonic() + timeout
    first_restarts: dict[str, int] = {}
    first = True  # no look answered yet
    events = True  # the user may read the namespace's events, as far as we know
    last = ""
    while True:
        try:
            found, events = look_as_allowed(kubectl, kind, name, events)
            verdict = assess(found, kind, name, first_restarts, setting, log, first, events)
            first = False
        except Unreachable as error:
            verdict = Verdict(waiting=f"kubectl: {error}")
        except (Forbidden, LoggedOut) as error:
            return f"{title} cannot be waited for: {refusal(kubectl, error)}"
        if verdict.done:
            return None
        if verdict.failure:
            removed = ""
            for claim in verdict.remove_claims:
                result = kubectl("delete", "persistentvolumeclaim", claim, "--wait=false")
                if result.returncode == 0:
                    removed = (f" (claim {claim} never held data and was removed: the next `make up` makes it "
                               f"anew)")
            return f"{title} {verdict.failure}{removed}"
        for pod in verdict.remake_pods:
            # may not delete pods: the pod is judged as it is at the next look
            kubectl("delete", "pod", pod, "--wait=false")
        last = verdict.waiting or last
        if time.monotonic() >= deadline:
            return (f"{title} is not ready after {timeout:.0f}s (waiting for {last or 'it'}); read its log with "
                    f"`{log}`, fix the cause, then run `make up` again")
        time.sleep(pace)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=("deployment", "job"))
    parser.add_argument("name")
    parser.add_argument("--context", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--pace", type=float, default=PACE)
    parser.add_argument("--image-setting", default="", help="the setting that names the image (images.KEY)")
    args = parser.parse_args(argv)
    if shutil.which("kubectl") is None:
        print(f"{args.name}: cannot wait for {args.kind} {args.name}: the kubectl command is not on PATH; install "
              f"kubectl (https://kubernetes.io/docs/tasks/tools/), then run `make up` again", file=sys.stderr)
        return 1
    started = time.monotonic()
    problem = wait(Kubectl(args.context, args.namespace), args.kind, args.name, args.timeout, args.pace,
                   args.image_setting)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"{args.name} is ready ({time.monotonic() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
