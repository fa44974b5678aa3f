from __future__ import annotations

import sys
from pathlib import Path

# the scenario apps (real aiohttp victims, an OpenAI-like upstream) are shared with these tests
sys.path.insert(0, str(Path(__file__).parents[1] / "scenarios" / "integration"))
