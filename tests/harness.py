"""Runs the Pulumi program under mocks and records every resource it registers.

The mocks stand in for the engine and the providers: no Pulumi CLI and no Docker engine
are needed. A recording monitor keeps what `MockResourceArgs` lacks: the parent, the
dependencies and the resource options of every registration.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import runpy
import shlex
from unittest import mock
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.settings import get_root_resource

# As Pulumi's language host does (its exec script): a failed program's unawaited
# futures are not reported again by asyncio's logger; the error itself is.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

PROJECT_DIR = Path(__file__).resolve().parent.parent
MAIN = PROJECT_DIR / "__main__.py"
PROJECT = "factorhouse-local"

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
COMMAND = "command:local:Command"


def stand_in(folder: Path, name: str, script: str) -> Path:
    """An executable shell script `name` in folder/bin, standing in for a real command;
    returns the bin folder to put first on PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text(script)
    (bin_dir / name).chmod(0o755)
    return bin_dir


# The start of a stand-in kubectl (a Python script): its arguments recorded as a JSON line
# in $CALLS, the cluster it stands for read from $KUBE_WORLD (JSON) as `world`, and the
# arguments split as kubectl takes them: `flags` (--context, --namespace, --selector,
# --output and their values), `rest` (the verb, the kind, the names); other --flags are
# left out. What follows answers as the test's cluster does.
KUBECTL_START = r"""#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["CALLS"], "a") as log:
    log.write(json.dumps(args) + "\n")
world = json.load(open(os.environ["KUBE_WORLD"]))
flags, rest, i = {}, [], 0
while i < len(args):
    if args[i] in ("--context", "--namespace", "--selector", "--output"):
        flags[args[i]] = args[i + 1]
        i += 2
    elif args[i].startswith("--"):
        i += 1
    else:
        rest.append(args[i])
        i += 1
"""


def project_copy(folder: Path) -> Path:
    """A project folder of a test's own (folder/project, with the project's Pulumi.yaml):
    the scripts run there, never in the user's."""
    project = folder / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((PROJECT_DIR / "Pulumi.yaml").read_text())
    return project


def fake_id(kind: str, name: str) -> str:
    return f"sha256:{hashlib.sha256(f'{kind}:{name}'.encode()).hexdigest()}"


def auto_name(name: str) -> str:
    """The name the Kubernetes provider gives an object without one (name-xxxxxxxx)."""
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def plain(value: Any) -> Any:
    """The value with every secret wrapper removed."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    raw: dict  # inputs with secret wrappers kept
    dependencies: list[str]
    delete_before_replace: bool
    replace_on_changes: list[str]
    retain_on_delete: bool
    protect: bool
    provider: str  # "URN::ID" of the provider that handles it, or "" for the default one
    ignore_changes: list[str]
    inputs: dict = field(init=False)

    def __post_init__(self):
        self.inputs = plain(self.raw)

    def __getitem__(self, key: str) -> Any:
        return self.inputs[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)


# What the providers fill in themselves, as the program sees it (docs/engine.md, "Previews";
# tests/test_previews.py holds these rules to what the real providers gave this program,
# tests/facts/provider-outputs.json).
#
# In a preview, a resource about to be made (or replaced) has none of what its server fills
# in: the Docker provider (the Terraform bridge's plan) leaves every attribute it computes
# unknown, the command provider leaves stdout and stderr unknown, and pulumi-kubernetes
# gives the object back as the program wrote it (a server-side dry run fails in a namespace
# that does not exist yet; a Namespace itself is dry-run, and gets a uid).
PREVIEW_UNKNOWN = {
    COMMAND: ("stderr", "stdout"),
    CONTAINER: ("bridge", "command", "containerLogs", "entrypoints", "exitCode", "healthcheck", "hostname", "id",
                "image", "init", "ipcMode", "logDriver", "networkDatas", "platform", "runtime", "securityOpts",
                "shmSize", "stopSignal", "stopTimeout"),
    NETWORK: ("id", "internal", "ipamConfigs", "options", "scope"),
    IMAGE: ("id", "imageId", "repoDigest"),
    VOLUME: ("driver", "id", "mountpoint"),
}
NAMESPACE = "kubernetes:core/v1:Namespace"
# the metadata the API server gives every object it makes; a generation to those with a spec
# it counts changes of
SERVER_METADATA = ("creationTimestamp", "managedFields", "resourceVersion", "uid")
HAS_GENERATION = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job",
                  "kubernetes:networking.k8s.io/v1:NetworkPolicy")
HAS_FINALIZERS = {"kubernetes:core/v1:PersistentVolumeClaim": ["kubernetes.io/pvc-protection"]}


def is_kubernetes(kind: str) -> bool:
    return kind.startswith("kubernetes:") and not kind.startswith("pulumi:providers")


def is_unknown(value: Any) -> bool:
    """Whether a value the program or a provider gave is unknown (in either of its forms)."""
    return isinstance(value, pulumi.output.Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def has_unknowns(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_unknowns(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknowns(v) for v in value)
    return is_unknown(value)


def _base64(value: Any) -> Any:
    """Values of a Secret's stringData as its data (base64), secrets kept secret."""
    if isinstance(value, dict):
        return {k: _base64(v) for k, v in value.items()}
    if is_secret(value):
        return rpc.wrap_rpc_secret(_base64(rpc.unwrap_rpc_secret(value)))
    return value if is_unknown(value) else base64.b64encode(value.encode()).decode()


@dataclass
class Made:
    """A resource as the last `up` left it in the state: its inputs, id and outputs."""
    inputs: dict
    id: str
    outputs: dict


class Mocks(pulumi_mocks.Mocks):
    """The providers, as the program sees them: in an update, what each server fills in; in
    a preview, what the provider gives back for a resource it is about to make (nothing the
    server fills in) or one that the state holds unchanged (what the state holds).

    `state`: what the stack's last `up` made (Run.state of an earlier run): a preview or an
    update then starts from it, as the CLI does on an existing stack. Without it, the stack
    is new."""

    def __init__(self, command_stdout: dict[str, str] | None = None, exit_codes: dict[str, int] | None = None,
                 last_outputs: dict | None = None, logs: dict[str, str] | None = None,
                 state: dict[tuple[str, str], Made] | None = None, preview: bool = False):
        self.command_stdout = command_stdout or {}
        self.exit_codes = exit_codes or {}
        self.logs = logs or {}  # what one-shot containers logged
        self.last_outputs = last_outputs or {}  # what the stack's last `up` exported
        self.state = state or {}
        self.preview = preview
        self.made: dict[tuple[str, str], Made] = {}  # what this run leaves in the state
        self.returned: dict[tuple[str, str], tuple[str, dict]] = {}  # (id, outputs) the program was given
        self.calls: list[str] = []  # tokens of the functions the program called

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        inputs = dict(args.inputs)
        if is_kubernetes(args.typ):
            inputs = self._checked(args.name, inputs)
        before = self.state.get((args.typ, args.name))
        if before is not None and before.inputs == inputs:
            resource_id, outputs = before.id, dict(before.outputs)  # unchanged: as the state holds it
        elif self.preview:
            resource_id, outputs = self._previewed(args.typ, inputs, before)
        else:
            resource_id, outputs = self._made(args.typ, args.name, inputs, before)
        if not self.preview:
            self.made[(args.typ, args.name)] = Made(inputs, resource_id, outputs)
        self.returned[(args.typ, args.name)] = (resource_id, outputs)
        return resource_id, outputs

    @staticmethod
    def _checked(name: str, inputs: dict) -> dict:
        """What pulumi-kubernetes' Check makes of the inputs, in a preview too: a name made
        when none is given, marked as made; a Secret's stringData as data (base64)."""
        metadata = dict(inputs.get("metadata") or {})
        if not metadata.get("name"):
            metadata["name"] = auto_name(name)
            metadata["annotations"] = {**(metadata.get("annotations") or {}), "pulumi.com/autonamed": "true"}
        checked = {**inputs, "metadata": metadata}
        if "stringData" in checked:
            string_data = checked.pop("stringData")
            if is_secret(string_data):
                checked["data"] = rpc.wrap_rpc_secret(_base64(rpc.unwrap_rpc_secret(string_data)))
            else:
                checked["data"] = _base64(string_data)
        return checked

    def _previewed(self, kind: str, inputs: dict, before: Made | None) -> tuple[str, dict]:
        """A preview of a resource to be made or changed: no id, and nothing a server fills in."""
        outputs = dict(inputs)
        if kind == "pulumi:pulumi:StackReference":
            outputs["outputs"] = self.last_outputs
        for key in PREVIEW_UNKNOWN.get(kind, ()):
            outputs[key] = rpc.UNKNOWN
        if is_kubernetes(kind):
            if kind == NAMESPACE:  # dry-run by the API server (cluster-wide: nothing missing)
                outputs["metadata"] = {**outputs["metadata"], "uid": fake_id("dry-run", str(inputs))[7:43],
                                       "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": []}
            elif before is not None and not has_unknowns(inputs):
                # an update the API server dry-runs: the object it holds, changed
                server = {k: v for k, v in before.outputs["metadata"].items() if k in SERVER_METADATA}
                outputs["metadata"] = {**outputs["metadata"], **server}
            return (before.id if before else ""), outputs
        return "", outputs

    def _made(self, kind: str, name: str, inputs: dict, before: Made | None) -> tuple[str, dict]:
        """What an update gives back: the inputs, and what the server filled in."""
        outputs = dict(inputs)
        version = hashlib.sha256(repr(sorted(inputs.items())).encode()).hexdigest()[:8]
        if kind == "pulumi:pulumi:StackReference":
            outputs["outputs"] = self.last_outputs
        if kind == IMAGE:
            outputs["imageId"] = fake_id("image", plain(inputs.get("name", name)))
            outputs["repoDigest"] = f"{plain(inputs.get('name', name))}@{fake_id('digest', name)}"
        if kind == COMMAND:
            outputs["stdout"] = self.command_stdout.get(name, fake_id("built", name))
            outputs["stderr"] = ""
        if kind == CONTAINER:
            # a container made anew (a replacement) has a new id
            outputs["id"] = f"{name}-id" if before is None else f"{name}-id-{version}"
            if inputs.get("attach"):
                outputs["exitCode"] = self.exit_codes.get(name, 0)
                outputs["containerLogs"] = self.logs.get(name, "")
        if is_kubernetes(kind):
            outputs["metadata"] = self._server_metadata(kind, name, outputs["metadata"], before)
            return f"{name}-id", outputs
        return outputs.get("id") or f"{name}-id", outputs

    @staticmethod
    def _server_metadata(kind: str, name: str, metadata: dict, before: Made | None) -> dict:
        old = before.outputs["metadata"] if before else {}
        server = {"uid": old.get("uid", fake_id("uid", name)[7:43]),
                  "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [],
                  "resourceVersion": str(int(old.get("resourceVersion", "0")) + 1)}
        if kind in HAS_GENERATION:
            server["generation"] = old.get("generation", 0) + 1
        if kind in HAS_FINALIZERS:
            server["finalizers"] = HAS_FINALIZERS[kind]
        return {**metadata, **server}

    def call(self, args: pulumi_mocks.MockCallArgs):
        self.calls.append(args.token)
        if args.token == "docker:index/getRegistryImage:getRegistryImage":
            return {"name": args.args["name"], "sha256Digest": fake_id("digest", args.args["name"])}
        return {}


class Monitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(Registration(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                raw=rpc.deserialize_properties(request.object),
                dependencies=list(request.dependencies),
                delete_before_replace=request.deleteBeforeReplace,
                replace_on_changes=list(request.replaceOnChanges),
                retain_on_delete=request.retainOnDelete,
                protect=request.protect,
                provider=request.provider,
                ignore_changes=list(request.ignoreChanges),
            ))
        return response


class Run:
    """What one run of the program registered and exported."""

    def __init__(self, monitor: Monitor, outputs: dict[str, Any], errors: list[str]):
        self.registrations = monitor.registrations
        self.calls = monitor.mocks.calls
        # what an `up` leaves in the state, for a later run of the same stack (state=...)
        self.state = monitor.mocks.made
        self.returned = monitor.mocks.returned  # (type, name) -> (id, outputs) the program was given
        self.outputs = outputs
        self.errors = errors  # what the program logged as errors
        self._by_urn = {r.urn: r for r in self.registrations}

    def of_type(self, kind: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == kind]

    def one(self, kind: str, name: str) -> Registration:
        found = [r for r in self.of_type(kind) if r.name == name]
        assert len(found) == 1, f"expected one {kind} named {name}, found {len(found)}"
        return found[0]

    def provider_of(self, resource: Registration) -> Registration | None:
        """The explicit provider registration that handles a resource."""
        if not resource.provider:
            return None
        return self._by_urn.get(resource.provider.rsplit("::", 1)[0])

    def container(self, name: str) -> Registration:
        return self.one(CONTAINER, name)

    @property
    def containers(self) -> dict[str, Registration]:
        return {r.name: r for r in self.of_type(CONTAINER)}

    def by_urn(self, urn: str) -> Registration:
        return self._by_urn[urn]

    def depends_on(self, resource: Registration) -> set[str]:
        """Logical names of the resources that `resource` waits for."""
        return {self._by_urn[u].name for u in resource.dependencies if u in self._by_urn}

    def env(self, name: str) -> dict[str, str]:
        return dict(e.split("=", 1) for e in self.container(name).get("envs", []))

    def secret(self, name: str, prop: str) -> bool:
        """Whether a container's input reaches the engine as a secret (the SDK marks the
        whole property secret when any part of it is)."""
        return is_secret(self.container(name).raw.get(prop))

    def ports(self, name: str) -> list[tuple[str, int, int]]:
        return [(p["ip"], int(p["external"]), int(p["internal"])) for p in self.container(name).get("ports", [])]

    def build_steps(self) -> dict[str, Registration]:
        """Image build steps by the image id they print (the mocks' stdout)."""
        return {fake_id("built", r.name): r for r in self.of_type(COMMAND) if r.name.startswith("build-")}

    @staticmethod
    def build_args(step: Registration) -> dict[str, str]:
        args = shlex.split(step["create"])
        pairs = [args[i + 1] for i, a in enumerate(args) if a == "--build-arg"]
        return dict(p.split("=", 1) for p in pairs)

    def image_chain(self, name: str) -> list[str]:
        """What a container runs, from the top: the build steps that made its image
        (each FROM the next), ending with the reference that was pulled."""
        steps = self.build_steps()
        by_tag = {self.option(r, "--tag"): r for r in steps.values()}
        image = self.container(name)["image"]
        chain = []
        step = steps.get(image)
        while step is not None:
            chain.append(step.name)
            image = self.build_args(step)["BASE_IMAGE"]
            step = by_tag.get(image)
        if image.startswith("sha256:"):
            for pulled in self.of_type(IMAGE):
                if fake_id("image", pulled["name"]) == image:
                    image = pulled["name"]
        return chain + [image]

    def image_of(self, name: str) -> str:
        """The pulled image reference that a container runs (or its images are built FROM)."""
        return self.image_chain(name)[-1]

    @staticmethod
    def option(step: Registration, flag: str) -> str:
        args = shlex.split(step["create"])
        return args[args.index(flag) + 1]

    def mounts(self, name: str) -> dict[str, dict]:
        """Volumes of a container by path inside it."""
        return {v["containerPath"]: v for v in self.container(name).get("volumes", [])}

    def files(self, name: str) -> dict[str, str]:
        """Files uploaded into a container: path inside it -> content."""
        return {u["file"]: u["content"] for u in self.container(name).get("uploads", [])}

    def gate(self, name: str) -> Registration:
        """The step that waits until a container is healthy."""
        return self.one(COMMAND, f"{name}-healthy")

    def waits_until_healthy(self, resource: Registration, name: str) -> bool:
        """Whether `resource` is made only once container `name` passed its health check."""
        return f"{name}-healthy" in self.depends_on(resource)


class _ErrorLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def resource_files(folder: str) -> dict[str, str]:
    """Every file of a folder of resources/, by its path relative to the folder."""
    root = PROJECT_DIR / "resources" / folder
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def check_factorhouse_app(run: Run, product: str, host_port: int, waits_for: str, login: bool) -> dict[str, str]:
    """The facts that Kpow and Flex share in the trial edition (docs/services.md);
    returns the container's settings for the product's own checks."""
    app = run.container(product)
    assert app["name"] == f"{product}-ee"
    assert run.image_of(product) == f"factorhouse/{product}:latest"  # pulled once, as compose does
    assert run.ports(product) == [("127.0.0.1", host_port, 3000)]
    assert app["restart"] == "always" and app["memory"] == 2048
    # as compose's mem_limit: Docker records twice the memory as swap; set it, so that
    # it is not a change on every preview, and ignore hosts that read back -1
    assert app["memorySwap"] == 4096 and app.ignore_changes == ["memorySwap"]
    env = run.env(product)
    auth = {"JAVA_TOOL_OPTIONS": f"-Djava.security.auth.login.config=/etc/{product}/jaas/hash-jaas.conf",
            "AUTH_PROVIDER_TYPE": "jetty", "RBAC_CONFIGURATION_FILE": f"/etc/{product}/rbac/hash-rbac.yml"}
    if login:
        assert {k: env[k] for k in auth} == auth
    else:  # upstream's trial.env leaves the login commented out
        assert not set(auth) & set(env)
    for key in ("LICENSE_ID", "LICENSE_CODE", "LICENSEE", "LICENSE_EXPIRY", "LICENSE_SIGNATURE"):
        assert key in env
    assert run.secret(product, "envs"), "licence and password settings must be secret"
    files = run.files(product)
    for folder in ("jaas", "rbac"):
        for name, text in resource_files(f"{product}/{folder}").items():
            assert files[f"/etc/{product}/{folder}/{name}"] == text
    assert run.mounts(product) == {}
    # starts only once that one passed its health check
    assert run.waits_until_healthy(app, waits_for)
    return env


def check_services(run: Run, rows) -> None:
    """Each (service, pulled image, container name, published ports) as the run made it,
    and no other service."""
    assert set(run.containers) == {name for name, *_ in rows}
    for name, image, container, ports in rows:
        assert run.image_of(name) == image, name
        assert run.container(name)["name"] == container, name
        assert run.ports(name) == ports, name


ENGINE_ID = "TEST:ENGINE:0001"  # what the stand-in engine answers to `docker info`
CURRENT_CONTEXT = "kind-current"  # the stand-in kubeconfig's current context


def stand_in_engine(settings):
    """The engine the settings name, as engines/reach.py would find it: the tests reach
    no engine (tests/test_reach.py tries the real function on real engines)."""
    from engines.reach import Identity
    if settings.engine == "kubernetes":
        return Identity("kubernetes", ENGINE_ID, settings.kube_context or CURRENT_CONTEXT)
    return Identity("docker", ENGINE_ID, settings.docker_host or "(default)")


CLI_ORGANIZATION = "organization"  # what the CLI names the organization on a self-managed backend


def as_the_cli_passes(config: dict[str, str], secret_keys: tuple[str, ...], stack: str,
                      stack_dir: Path | None = None) -> tuple[dict, list]:
    """The configuration and secret keys the CLI hands the program of stack `stack`:
    Pulumi.yaml's defaults and `value:` entries for every key, then the stack file
    Pulumi.<stack>.yaml of `stack_dir` (none by default: the stack files of the project
    folder are the user's, never the tests'), then what the test sets (`config`: key ->
    value as the CLI passes it, a string, with lists and maps as JSON); `secret_keys` are
    passed as the CLI passes `--secret` keys, decrypted, with their names in the secret
    list."""
    import settings
    resolved = settings.cli_config(stack_dir, stack) if stack_dir else settings.project_defaults()
    resolved.update({f"{PROJECT}:{k}": v for k, v in config.items()})
    return resolved, [f"{PROJECT}:{k}" for k in secret_keys]


def _run(config, secret_keys, stack, preview, command_stdout, exit_codes=None, last_outputs=None, reach=None,
         logs=None, stack_dir=None, state=None):
    mocks = Mocks(command_stdout, exit_codes, last_outputs, logs, state=state, preview=preview)
    errors = _ErrorLog()
    logger = logging.getLogger(f"pulumi-mocks-{id(errors)}")
    logger.addHandler(errors)
    monitor = Monitor(mocks)
    # a new root stack resource for every run (set_mocks keeps the old one, outputs and all)
    pulumi_settings.ROOT.set(None)
    # as the CLI runs a program on a self-managed (file://) backend: organization "organization"
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor, logger=logger,
                             organization=CLI_ORGANIZATION)
    pulumi.runtime.set_all_config(*as_the_cli_passes(config or {}, secret_keys, stack, stack_dir))
    exported: dict[str, Any] = {}

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(MAIN), run_name="__main__")
        outputs = get_root_resource().outputs
        return pulumi.Output.all(**outputs).apply(exported.update) if outputs else None

    import engines.reach
    try:
        with mock.patch.object(engines.reach, "reach", reach or stand_in_engine):
            program()
    except Exception as error:
        error.registrations = monitor.registrations  # what was made before it failed
        raise
    return monitor, exported, errors.messages


def run_program(config: dict[str, str] | None = None, secret_keys: tuple[str, ...] = (),
                stack: str = "dev", preview: bool = False, command_stdout: dict[str, str] | None = None,
                exit_codes: dict[str, int] | None = None, last_outputs: dict | None = None, reach=None,
                logs: dict[str, str] | None = None, stack_dir: Path | None = None,
                state: dict | None = None) -> Run:
    """Run __main__.py under mocks with the given config (values as the CLI passes them:
    strings, and lists and maps as JSON); preview: a preview (`pulumi preview`, and the first
    pass of `pulumi up`) rather than an update; exit_codes are those of one-shot containers;
    last_outputs what the stack's last `up` exported; reach stands in for
    engines.reach.reach (default: an engine that answers ENGINE_ID); logs what one-shot
    containers logged; stack_dir a folder whose Pulumi.<stack>.yaml is the stack's file;
    state what the stack's last `up` made (an earlier Run's `state`; default: a new stack)."""
    return Run(*_run(config, secret_keys, stack, preview, command_stdout, exit_codes, last_outputs, reach, logs,
                     stack_dir, state))
