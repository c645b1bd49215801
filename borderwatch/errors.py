"""The one exception root of borderwatch.

Every error the project raises on purpose is a :class:`BorderwatchError`, whichever package raises
it, so an edge (the CLI, a web handler, ingest) can tell ours from a bug with one
``except``. A class keeps its built-in base as well where callers catch that (``ValueError``,
``PermissionError``, ``LookupError``). The typed errors the edges act on live with what they
describe (streams.errors: InvalidEvent, SourceRowError, ConfigError, ...).
"""

from __future__ import annotations


class BorderwatchError(Exception):
    """Root of every error borderwatch raises on purpose."""
