"""Factor House Local: read settings, build the chosen stacks on the chosen engine,
export what a user needs."""

import pulumi

import settings
from engines import engine_for
from stacks import build

chosen = settings.load()
platform = build(chosen, engine_for(chosen))
for name, value in platform.outputs.items():
    pulumi.export(name, value)
