"""The one runner: every command is a plan (``hosted.planner``) run here.

``run(plan, env, backend, emit, options)`` returns a ``RunResult`` with one
``MachineResult`` per machine; ``RunOptions`` carries the confirmation, the
parallelism and the retry policy.
"""

from hosted.run.context import Confirm, RunOptions
from hosted.run.result import MachineResult, RunResult
from hosted.run.runner import require_confirmation, run

__all__ = ["Confirm", "MachineResult", "RunOptions", "RunResult", "require_confirmation", "run"]
