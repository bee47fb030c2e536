"""The Kubernetes engine: the one place where a service description becomes Kubernetes
resources, in one namespace of the cluster that `kubeContext` names.

`KubernetesEngine.run` alone decides how a service is delivered (docs/engine.md,
"Kubernetes", says why each choice):
- a long-running service is a Deployment of one pod, replaced whole on a change
  (strategy Recreate: never two pods on one data volume), with a headless Service named
  by the service's name, so that the others reach it by that name on any port, as on a
  Docker network; a one-shot is a Job; a gate step (scripts/wait_workload.py) waits until
  the workload is ready or completed, and fails within seconds of a cause that waiting
  will not heal; what needs the service is made after its gate;
- its data volumes are PersistentVolumeClaims of their own, kept on destroy (as Docker
  volumes are), each mounted through a `data` folder of the volume;
- its files are a ConfigMap mounted read-only at the same paths (those holding
  credentials, a login realm, a Secret); its credentials a Secret that its environment
  refers to, never a plain value of a manifest;
- a NetworkPolicy lets only the namespace's own pods reach its services;
- its health check is a readiness probe running the same test at the check's interval,
  with a startup probe running it every second until the first pass, so that "healthy"
  (the Deployment ready, which its gate waits for) comes within a second of the service;
- images it pulls are named as they are; images built here are pushed to
  `imageRegistry` when one is set, tagged by their content, so nothing unchanged is built
  or pushed again.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from settings import Settings, kubernetes_stack_label
from stacks.platform import Deployed, Wait
from stacks.service import Service, is_credential

from .images import Image, Images, is_latest
from .steps import workload_gate
from .reach import Identity

LABEL = "factorhouse.local"
VOLUME_SIZE = "10Gi"  # asked of the storage class for every data volume
STARTUP_PERIOD = 1  # seconds between two runs of a health check until it first passes
STOP_GRACE_SECONDS = 30  # as on Docker
# How long `pulumi up` waits for a workload (its image pulled on a new node, then its
# health check passed) and a service gets to pass its check before it is restarted
START_SECONDS = 1200
# Pulumi's own wait for a workload cannot give up early on a cause that waiting will not
# heal: a condition that holds once the object exists (and its controller saw the change)
# takes its place on create and update, and the workload gate waits instead
# (scripts/wait_workload.py). Not `skipAwait`: that also skips the wait for a deletion,
# and a Deployment or Job made again under its name would meet the old one still there.
WAIT = {"pulumi.com/timeoutSeconds": str(START_SECONDS), "pulumi.com/waitFor": "jsonpath={.metadata.name}"}


def probe_command(test: tuple[str, ...]) -> list[str]:
    """A compose health check test as an exec probe's command."""
    kind, *rest = test
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(rest)]
    if kind == "CMD":
        return list(rest)
    raise ValueError(f"health check test {test!r}: expected CMD or CMD-SHELL")


def template_digest(template: pulumi.Input) -> pulumi.Output[str]:
    """A digest (16 hex digits) of a pod template as the program gives it, every input in
    it resolved, in a fixed order: it changes with the template, and nothing else."""
    return pulumi.Output.from_input(template).apply(
        lambda resolved: hashlib.sha256(json.dumps(resolved, default=vars, sort_keys=True).encode()).hexdigest()[:16])


def server_identity(kind: str, name: str, uid: pulumi.Output, *parts: pulumi.Input[str]) -> pulumi.Output[str]:
    """An object's identity: its `metadata.uid` (which the API server gives it when it is
    made), then `parts`, joined by '/'. In a preview, an object about to be made has no uid:
    the provider hands back the object as the program wrote it (pulumi-kubernetes' Create
    and Update with `preview: true`, docs/engine.md "Previews"), so the program sees a known
    `None`. The identity is then unknown, as the uid is: what depends on it shows as "to
    be decided" rather than a value the update will not give. After an update the uid is
    always there; its absence then is a provider's fault, named in one line."""
    def join(values: list) -> str:
        uid, *rest = values
        if not uid:
            if pulumi.runtime.is_dry_run():
                return pulumi.UNKNOWN
            raise pulumi.RunError(f"the Kubernetes API server gave {kind} {name} no metadata.uid; "
                                  f"run `make up` again, and report it if it stays")
        return "/".join([uid, *rest])
    return pulumi.Output.all(uid, *parts).apply(join)


def _key(index: int, target: str) -> str:
    """A ConfigMap key for the file at `target` (keys allow letters, digits, '-', '_', '.')."""
    return f"{index:02d}-" + re.sub(r"[^A-Za-z0-9._-]+", "-", target.rsplit("/", 1)[-1])


class KubernetesImages(Images):
    def pull(self, reference: str) -> Image:
        """A pulled image is only named: the cluster's nodes pull it."""
        return Image(reference, reference, pulumi.Output.from_input(reference), None)


class KubernetesEngine:
    """Every service a workload of one namespace of one cluster."""

    def __init__(self, settings: Settings, identity: Identity):
        self.settings = settings
        self.identity = identity  # the cluster that answered at kubeContext
        context = settings.kube_context or None
        self.provider = k8s.Provider("kubernetes", context=context)
        # The namespace and the data volumes outlive `pulumi destroy` (they are kept, as
        # Docker volumes are); the next `up` takes them back as they are, so their
        # provider updates an object that exists instead of failing on it. Everything
        # else is created anew, and fails loudly where another owner's object exists.
        self.keeper = k8s.Provider("kubernetes-keep", context=context, upsert_existing_objects=True)
        self.labels = {"app.kubernetes.io/part-of": "factorhouse-local", "app.kubernetes.io/managed-by": "pulumi"}
        # the namespace is made (and kept), or one that exists is used as it is
        self.namespace: pulumi.Input[str] = settings.namespace
        if settings.create_namespace:
            self.namespace = k8s.core.v1.Namespace(
                "namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=settings.namespace, labels=self.labels),
                opts=pulumi.ResourceOptions(provider=self.keeper, retain_on_delete=True),
            ).metadata.name
        # only the namespace's own pods reach its services (`kubectl port-forward` goes
        # through the kubelet, not the pod network): on a shared cluster nobody else
        # reaches the platform's unauthenticated services or its demo logins
        k8s.networking.v1.NetworkPolicy(
            "same-namespace-only",
            metadata=self._meta("factorhouse-local-same-namespace-only", self.labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Ingress"],
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                    from_=[k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=k8s.meta.v1.LabelSelectorArgs())])],
            ),
            opts=self._opts(None),
        )
        self.images = KubernetesImages(settings, registry=settings.image_registry, platform=settings.image_platform)
        self.forwards: list[str] = []

    def _opts(self, parent: Optional[pulumi.Resource], keep: bool = False, **options) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(provider=self.keeper if keep else self.provider, parent=parent,
                                      retain_on_delete=keep or None, **options)

    def _meta(self, name: Optional[str], labels: dict[str, str], **more) -> k8s.meta.v1.ObjectMetaArgs:
        # a name left out is made by Pulumi (name-xxxxxxxx), new on every change of content
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=self.namespace, labels=labels, **more)

    def kubectl(self) -> list[str]:
        """The kubectl command a user types to reach this namespace, on this cluster
        (the context `up` ran on, even when `kubeContext` is empty)."""
        return ["kubectl", "--context", self.identity.address, "--namespace", self.settings.namespace]

    def describe(self, count: int) -> str:
        return f"{count} services in namespace {self.settings.namespace}"

    def outputs(self) -> dict[str, pulumi.Input]:
        return {"engine": self.identity.output(), "namespace": self.settings.namespace,
                "portForwards": list(self.forwards)}

    # -- what a pod is made of --------------------------------------------------------
    def _env(self, service: Service, labels: dict[str, str], parent) -> list[k8s.core.v1.EnvVarArgs]:
        """Plain settings as values; credentials in a Secret of the service's own."""
        values = service.environment()
        credentials = sorted(k for k in values if is_credential(k))
        secret = k8s.core.v1.Secret(
            f"{service.name}-env",
            metadata=self._meta(None, labels),
            type="Opaque",
            string_data={k: pulumi.Output.secret(values[k]) for k in credentials},
            opts=self._opts(parent),
        ) if credentials else None
        env = []
        for key in sorted(values):
            if key in credentials:
                env.append(k8s.core.v1.EnvVarArgs(name=key, value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret.metadata.name, key=key))))
            else:
                env.append(k8s.core.v1.EnvVarArgs(name=key, value=values[key]))
        return env

    def _files(self, service: Service, labels: dict[str, str], parent):
        """The service's files, mounted read-only at their paths from a ConfigMap, and
        those holding credentials from a Secret: (volumes, mounts)."""
        volumes, mounts = [], []
        files = service.file_list()
        for secret in (False, True):
            chosen = [(_key(i, f.target), f) for i, f in enumerate(files, start=1) if f.secret == secret]
            if not chosen:
                continue
            name = "secret-files" if secret else "files"
            items = [k8s.core.v1.KeyToPathArgs(key=key, path=key, mode=0o755 if f.executable else 0o644)
                     for key, f in chosen]
            if secret:
                source = k8s.core.v1.Secret(
                    f"{service.name}-secret-files", metadata=self._meta(None, labels), type="Opaque",
                    string_data={key: pulumi.Output.secret(f.text) for key, f in chosen}, opts=self._opts(parent))
                volumes.append(k8s.core.v1.VolumeArgs(name=name, secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=source.metadata.name, items=items)))
            else:
                source = k8s.core.v1.ConfigMap(
                    f"{service.name}-files", metadata=self._meta(None, labels),
                    data={key: f.text for key, f in chosen}, opts=self._opts(parent))
                volumes.append(k8s.core.v1.VolumeArgs(name=name, config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                    name=source.metadata.name, items=items)))
            mounts += [k8s.core.v1.VolumeMountArgs(name=name, mount_path=f.target, sub_path=key, read_only=True)
                       for key, f in chosen]
        return volumes, mounts

    def volume(self, name: str, parent: Optional[pulumi.Resource]) -> k8s.core.v1.PersistentVolumeClaim:
        """A data volume: a claim of its own, kept when Pulumi deletes it (destroy, or
        persistData turned off); data is only ever removed by the user."""
        return k8s.core.v1.PersistentVolumeClaim(
            f"volume-{name}",
            # Pulumi's own wait for a claim cannot tell a kept claim that is bound from one
            # that never will be, and needs to read storage classes; the Deployment that
            # mounts it waits until it is bound
            # labelled as data and with the stack it belongs to (`make drop-data` removes
            # exactly this stack's); a label is metadata, updated in place, so a kept claim
            # made before gets it on the next `up`
            metadata=self._meta(name, {**self.labels, LABEL: "data", f"{LABEL}/stack": kubernetes_stack_label(
                pulumi.get_stack())}, annotations={"pulumi.com/skipAwait": "true"}),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": VOLUME_SIZE}),
                storage_class_name=self.settings.storage_class or None,
            ),
            opts=self._opts(parent, keep=True),
        )

    def _data(self, service: Service, parent):
        """The service's data volumes: (volumes, mounts), none without persistData."""
        if not self.settings.persist_data:
            return [], []
        volumes, mounts = [], []
        for i, (name, path) in enumerate(service.data, start=1):
            claim = self.volume(name, parent)
            volumes.append(k8s.core.v1.VolumeArgs(
                name=f"data-{i}",
                persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=claim.metadata.name)))
            # a folder of the volume: a new volume's root may hold lost+found, which
            # Kafka and Postgres refuse in their data folder
            mounts.append(k8s.core.v1.VolumeMountArgs(name=f"data-{i}", mount_path=path, sub_path="data"))
        return volumes, mounts

    @staticmethod
    def _probes(service: Service) -> dict:
        check = service.healthcheck
        if check is None:
            return {}
        run = k8s.core.v1.ExecActionArgs(command=probe_command(check.test))
        return {
            # until it first passes: every second, for as long as the workload's gate waits
            "startup_probe": k8s.core.v1.ProbeArgs(
                exec_=run, period_seconds=STARTUP_PERIOD, timeout_seconds=max(1, check.timeout),
                failure_threshold=max(check.wait_timeout, START_SECONDS) // STARTUP_PERIOD),
            # then at the check's own pace
            "readiness_probe": k8s.core.v1.ProbeArgs(
                exec_=run, period_seconds=max(1, check.interval), timeout_seconds=max(1, check.timeout),
                failure_threshold=max(1, check.retries)),
        }

    def _pull_policy(self, reference: str) -> str:
        return "Always" if self.settings.follow_latest and is_latest(reference) else "IfNotPresent"

    # -- a service ----------------------------------------------------------------------
    def _container(self, service: Service, image: Image, labels: dict[str, str], mounts: list,
                   parent) -> k8s.core.v1.ContainerArgs:
        return k8s.core.v1.ContainerArgs(
            name=service.name,
            image=image.reference,
            # built images are tagged by content: a new image is a new tag
            image_pull_policy=self._pull_policy(image.key) if image.made_by is None else "IfNotPresent",
            command=list(service.entrypoint) or None,
            args=list(service.command) or None,
            env=self._env(service, labels, parent) or None,
            ports=[k8s.core.v1.ContainerPortArgs(container_port=inside) for _, inside in service.ports] or None,
            volume_mounts=mounts or None,
            resources=k8s.core.v1.ResourceRequirementsArgs(limits={"memory": f"{service.memory_mb}Mi"})
            if service.memory_mb else None,
            # a failed container's last lines of log are its termination message, which
            # `pulumi up` shows when it fails
            termination_message_policy="FallbackToLogsOnError",
            security_context=k8s.core.v1.SecurityContextArgs(run_as_user=service.user)
            if service.user is not None else None,
            **self._probes(service),
        )

    def _pod(self, service: Service, image: Image, labels: dict[str, str], after: Wait,
             parent) -> k8s.core.v1.PodTemplateSpecArgs:
        """The pod a service runs in: its container, files, data and what it waited for."""
        file_volumes, file_mounts = self._files(service, labels, parent)
        data_volumes, data_mounts = self._data(service, parent)
        annotations = {}
        if after.values:
            annotations[f"{LABEL}/after"] = pulumi.Output.all(*after.values).apply(",".join)
        if service.replace_when:
            annotations[f"{LABEL}/replace-when"] = pulumi.Output.all(*service.replace_when).apply(",".join)
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations=annotations or None),
            spec=k8s.core.v1.PodSpecArgs(
                containers=[self._container(service, image, labels, data_mounts + file_mounts, parent)],
                volumes=(data_volumes + file_volumes) or None,
                restart_policy="Never" if service.one_shot else None,
                # no KAFKA_*/CONNECT_*-like variables of other services (Confluent's images
                # read every such variable as a setting)
                enable_service_links=False,
                # a host name of its own that resolves: <hostname>.<its headless Service>
                hostname=service.hostname,
                subdomain=service.name if service.hostname else None,
                termination_grace_period_seconds=STOP_GRACE_SECONDS,
                security_context=k8s.core.v1.PodSecurityContextArgs(
                    fs_group=service.data_group, fs_group_change_policy="OnRootMismatch")
                if service.data_group is not None and data_volumes else None,
            ),
        )

    def run(self, service: Service, parent: Optional[pulumi.Resource], after: Wait) -> Deployed:
        image = self.images.of(service, parent)
        selector = {"app.kubernetes.io/name": service.name}
        labels = {**self.labels, **selector}
        pod = self._pod(service, image, labels, after, parent)
        depends_on = [r for r in (image.made_by, *after.resources) if r is not None]
        if service.one_shot:
            return self._job(service, labels, pod, image, parent, depends_on)

        deployment = k8s.apps.v1.Deployment(
            service.name,
            metadata=self._meta(service.name, labels, annotations=WAIT),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                # the old pod is gone before the new one starts: one pod per data volume
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                template=pod,
            ),
            opts=self._opts(parent, depends_on=depends_on, delete_before_replace=True),
        )
        name_service = self._name_service(service, labels, selector, parent)
        # made anew: a new Deployment (its uid) or a new pod template from the program (a
        # new revision of its pod); not the generation, which `make restart` (`kubectl
        # rollout restart`) moves too while the service keeps its data and settings
        identity = server_identity("Deployment", service.name, deployment.metadata.uid, template_digest(pod))
        # the gate waits until the Deployment is available: its pod ready, i.e. its
        # readiness probe (the health check) passed, or running when it has none
        gate = self._gate(service, "deployment", deployment, identity, image, parent)
        ready = Wait((gate, name_service))
        waits = {"started": ready}
        if service.healthcheck:
            waits["healthy"] = ready
        return Deployed(service.name, identity, service.name, waits)

    def _name_service(self, service: Service, labels: dict[str, str], selector: dict[str, str],
                      parent) -> k8s.core.v1.Service:
        """A name on the network, as a Docker network alias: headless, so that it resolves
        to the pod itself (every port, as on Docker), and at once (a service may resolve its
        own name before it is ready, as Kafka's listeners do); and its port forward."""
        if service.ports:
            s = self.settings
            pairs = [f"{s.port(host)}:{inside}" for host, inside in service.ports]
            self.forwards.append(shlex.join([*self.kubectl(), "port-forward", f"service/{service.name}", *pairs]))
        return k8s.core.v1.Service(
            service.name,
            metadata=self._meta(service.name, labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip="None",
                selector=selector,
                publish_not_ready_addresses=True,
                ports=[k8s.core.v1.ServicePortArgs(name=f"port-{inside}", port=inside, target_port=inside)
                       for _, inside in service.ports] or None,
            ),
            opts=self._opts(parent, delete_before_replace=True),
        )

    def _gate(self, service: Service, kind: str, workload: pulumi.CustomResource, trigger: pulumi.Output[str],
              image: Image, parent) -> pulumi.Resource:
        """The step that waits for a workload, run again when `trigger` changes: a new
        workload (its uid) or a new pod template (server_identity: unknown in a preview of
        one to be made)."""
        setting = next((f"images.{key}" for key, reference in sorted(self.settings.images.items())
                        if image.made_by is None and reference == image.key), "")
        return workload_gate(service.name, kind, self.identity.address, self.settings.namespace, workload, trigger,
                             START_SECONDS, setting, parent)

    def _job(self, service: Service, labels, pod, image: Image, parent, depends_on) -> Deployed:
        """A one-shot: a Job run once, without retries, which its gate waits for until it
        completed, failing (with the pod's last lines of log) when it failed. A failed
        Job is replaced, so run again, by the next `pulumi up`."""
        job = k8s.batch.v1.Job(
            service.name,
            metadata=self._meta(service.name, labels, annotations={**WAIT, "pulumi.com/replaceUnready": "true"}),
            spec=k8s.batch.v1.JobSpecArgs(backoff_limit=0, template=pod),
            opts=self._opts(parent, depends_on=depends_on, delete_before_replace=True),
        )
        trigger = server_identity("Job", service.name, job.metadata.uid, template_digest(pod))
        done = Wait((self._gate(service, "job", job, trigger, image, parent),))
        return Deployed(service.name, server_identity("Job", service.name, job.metadata.uid), service.name,
                        {"started": done, "completed": done})
