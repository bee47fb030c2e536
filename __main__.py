"""Factor House Local: read settings, build the chosen stacks, export what a user needs."""

import pulumi

from stacks import build, settings

platform = build(settings.load())
for name, value in platform.outputs.items():
    pulumi.export(name, value)
