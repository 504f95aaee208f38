"""The journal tests build order intents with the orders tests' helpers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "orders"))
