"""What the worker's patches of Faust and aiokafka share (``streams.log_end``, ``streams.group_leave``,
``streams.consumer_seek``, ``streams.app.FetchPace``).

Each patch replaces one method of a pinned library version with a wrapper made by
``functools.wraps``, and may be installed more than once in a process (every worker the tests
start in-process installs them). A second install must wrap the library's own method, never the
first wrapper, or the patches would stack.
"""

from __future__ import annotations


def unpatched(owner: type, name: str):
    """``owner.name`` as the library defines it: the function a patch made with ``functools.wraps``
    wraps, or the attribute itself if nothing patched it."""
    current = getattr(owner, name)
    return getattr(current, "__wrapped__", current)
