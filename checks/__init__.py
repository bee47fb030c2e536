"""`make check`'s questions, one module per stack as stacks/ has them, on the plumbing
they share (checks/plumbing.py). Importing the package registers every question."""

from . import (analytics, factorhouse, flink, kafka, lineage, metadata, metastore, pinot,  # noqa: F401
               redis, stores, telemetry)
from .plumbing import QUESTIONS, Failed, Shared, Target, Unreachable, asked, question_for  # noqa: F401
