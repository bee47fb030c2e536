import sys
from pathlib import Path

# the project folder, so that tests import `stacks` as __main__.py does
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
