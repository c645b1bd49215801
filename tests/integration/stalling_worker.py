"""``borderwatch worker`` whose ingest group never reports its join: a hang, injected.

A hung rebalance or recovery cannot be caused from outside on demand (the embedded broker's joins
take seconds, and the worker asks for its own groups' joins while Faust recovers, so they end
before the stall watch first looks). This wrapper keeps the ingest group's assignment from ever
being taken: the worker never settles and nothing it shows moves, as when a join or a recovery
truly hangs. Everything else is the real worker on the real broker. Run as
``python -m tests.integration.stalling_worker worker ARGS``.
"""

from __future__ import annotations

import sys

from streams import cli
from streams.ingest import InputReader


def assignment_never_taken(self) -> None:
    pass


if __name__ == "__main__":
    InputReader.on_assigned = assignment_never_taken
    sys.exit(cli.main(sys.argv[1:]))
