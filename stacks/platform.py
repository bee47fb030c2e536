"""What every stack shares, whatever engine runs it: the settings, the engine, the
services made so far (to resolve `depends_on` by service name) and the outputs.

The seam between what runs and how: a stack describes each service (`Service`,
stacks/service.py) and hands it to `Platform.run`; the engine (engines/docker.py or
engines/kubernetes.py) turns it into resources and says what a dependent waits for when
it needs the service started, healthy or completed. No stack module knows the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Protocol

import pulumi

from .service import Service
from settings import Settings

CONDITIONS = ("started", "healthy", "completed")


@dataclass(frozen=True)
class Wait:
    """What a dependent waits for: resources it is made after, and values it takes as
    inputs, which resolve only once a condition holds (and fail the run when it never
    will, e.g. a one-shot that exited non-zero)."""

    resources: tuple[pulumi.Resource, ...] = ()
    values: tuple[pulumi.Output[str], ...] = ()

    def __add__(self, other: "Wait") -> "Wait":
        return Wait(self.resources + other.resources, self.values + other.values)


@dataclass(frozen=True)
class Deployed:
    """A service as an engine made it."""

    name: str
    id: pulumi.Output[str]  # changes whenever the service is made anew (a replacement)
    workload: str  # what the engine calls it: the container's name, the Deployment's or Job's
    # condition -> what a dependent waits for: "started" always; "healthy" when the
    # service has a health check; "completed" when it is a one-shot
    waits: Mapping[str, Wait] = field(default_factory=dict)


class Engine(Protocol):
    """How services run: Docker (engines/docker.py) or Kubernetes (engines/kubernetes.py)."""

    #: where the services run, for the summary, e.g. "containers on network factorhouse"
    def describe(self, count: int) -> str: ...

    def run(self, service: Service, parent: Optional[pulumi.Resource], after: Wait) -> Deployed: ...

    #: outputs the engine adds to the stack's (how a client reaches the services)
    def outputs(self) -> dict[str, pulumi.Input]: ...


class Platform:
    """The settings, the engine and the services made so far, shared by every stack."""

    def __init__(self, settings: Settings, engine: Engine):
        self.settings = settings
        self.engine = engine
        self.outputs: dict[str, pulumi.Input] = {}
        self.services: dict[str, Deployed] = {}
        self.descriptions: dict[str, Service] = {}

    def _after(self, service: Service) -> Wait:
        """What a service waits for, from its `depends_on` (in name order)."""
        after = Wait()
        for name, condition in sorted(service.depends_on.items()):
            if condition not in CONDITIONS:
                raise ValueError(f"{service.name}: unknown condition {condition!r}")
            if name not in self.services:
                raise ValueError(f"{service.name} depends on {name}, which is not made (yet)")
            wait = self.services[name].waits.get(condition)
            if wait is None:
                what = "has no health check" if condition == "healthy" else "is not a one-shot"
                raise ValueError(f"{service.name} waits for {name} to be {condition}, which {what}")
            after += wait
        return after

    def run(self, service: Service, parent: Optional[pulumi.Resource]) -> Deployed:
        """Make a service on the engine, after what it depends on."""
        if service.name in self.services:
            raise ValueError(f"{service.name} is made twice")
        deployed = self.engine.run(service, parent, self._after(service))
        self.services[service.name] = deployed
        self.descriptions[service.name] = service
        return deployed

    def addresses(self, name: str) -> list[str]:
        """HOST:PORT of each port a service publishes, as a client on the user's machine
        reaches it (the host address, the offset port), in the service's order."""
        s = self.settings
        return [f"{s.host_address}:{s.port(host)}" for host, _ in self.descriptions[name].ports]

    def service_output(self, name: str, stack: str) -> dict:
        """What the `services` output says of one service: the stack that runs it, what the
        engine calls it, whether it is a one-shot, and where clients reach it."""
        return {"stack": stack, "workload": self.services[name].workload,
                "oneShot": self.descriptions[name].one_shot, "addresses": self.addresses(name)}

    def shared(self, service: Service) -> Deployed:
        """A service that more than one stack uses (Zookeeper): made once, as a child of
        the Pulumi stack itself, so its identity does not depend on which stacks run."""
        if service.name not in self.services:
            self.run(service, parent=None)
        return self.services[service.name]
