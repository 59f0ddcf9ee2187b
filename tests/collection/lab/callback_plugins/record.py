"""An Ansible callback for the tests: every task result of every host, and the recap, as JSON
in the file $HOSTED_TEST_RECORD (ansible-core ships no JSON callback of its own)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: record
    type: aggregate
    short_description: every task result and the recap, as JSON in $HOSTED_TEST_RECORD
    description: For hosted's tests of the hosted.lab collection.
"""


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.results: list[dict[str, Any]] = []
        self.started = time.monotonic()

    def _add(self, status: str, result: Any) -> None:
        self.results.append({"host": result._host.get_name(), "task": result._task.get_name(),
                             "action": result._task.action, "status": status, "result": result._result,
                             "seconds": round(time.monotonic() - self.started, 2)})


    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self.started = time.monotonic()

    def v2_runner_on_ok(self, result: Any) -> None:
        self._add("ok", result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._add("failed", result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._add("skipped", result)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._add("unreachable", result)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        recap = {host: stats.summarize(host) for host in sorted(stats.processed)}
        with open(os.environ["HOSTED_TEST_RECORD"], "w", encoding="utf-8") as out:
            json.dump({"results": self.results, "recap": recap}, out, default=str)
