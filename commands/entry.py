"""How the make targets' scripts end: with main's exit code, and when the user gives up at
a prompt (Ctrl-C, or the end of input) with one line and exit code 130, never a traceback.
Standard library only."""

from __future__ import annotations

import sys
from typing import Callable, NoReturn


def run(main: Callable[[], int]) -> NoReturn:
    """Exit with `main()`'s code; Ctrl-C or the end of input: one line, code 130."""
    try:
        code = main()
    except (KeyboardInterrupt, EOFError):
        print("\nstopped: nothing more was done", file=sys.stderr)
        code = 130
    sys.exit(code)
