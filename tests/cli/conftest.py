from __future__ import annotations

import os

# Before rich is imported: plain, fixed-width output.
os.environ["NO_COLOR"] = "1"
os.environ["COLUMNS"] = "120"
os.environ.pop("FORCE_COLOR", None)
