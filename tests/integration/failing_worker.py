"""``borderwatch worker`` whose aggregate stage fails on one marked incident: a bug, injected.

No input can make an agent fail any more (every record it cannot carry is dead-lettered), so the
agent-failure test injects one where a bug would be, in the stateful stage. Everything else is the
real worker on the real broker. Run as ``python -m tests.integration.failing_worker worker ARGS``.
"""

from __future__ import annotations

import sys

from streams import cli
from streams.pipeline import Pipeline

#: event_id of the incident the injected bug fails on
MARK = "fail-here"
_apply = Pipeline.apply


def failing_apply(self, state, env):
    if any(rec.get("event_id") == MARK for rec in env.records):
        raise RuntimeError("injected failure")
    return _apply(self, state, env)


if __name__ == "__main__":
    Pipeline.apply = failing_apply
    sys.exit(cli.main(sys.argv[1:]))
