"""A member that stops leaves its consumer group, in the group's first generation too.

aiokafka (0.14) sends LeaveGroup as a member stops only when the group's generation is above 0.
Kafka numbers a group's first generation 1, so there a stopping member always leaves; the embedded
broker (tansu) numbers it 0, so a member that stops in the generation it joined -- a lone worker's
whole life -- left nothing behind but its session, and the next member to join waited that session
out: a worker restarted after a clean stop was ready after about 20 s against 7.5 s at its first
start (docs/BENCHMARKS.md, "A worker's start"). A named member (``Settings.instance_id``, static
membership) does not leave, on purpose: it keeps its place for its restart.

Every consumer group of the worker goes through aiokafka's ``GroupCoordinator`` (Faust's too), so
the one patch below covers them. ``tests/integration/test_broker.py`` holds it to the broker.
"""

from __future__ import annotations

import functools
import logging

from streams.library_patches import unpatched

log = logging.getLogger(__name__)


def install() -> None:
    """Make ``GroupCoordinator._maybe_leave_group`` leave in generation 0 as it does from 1."""
    from aiokafka import errors
    from aiokafka.consumer.group_coordinator import GroupCoordinator
    from aiokafka.protocol.group import LeaveGroupRequest

    original = unpatched(GroupCoordinator, "_maybe_leave_group")

    @functools.wraps(original)
    async def maybe_leave_group(coordinator: GroupCoordinator) -> None:
        if coordinator.generation == 0 and coordinator.member_id and coordinator._group_instance_id is None:
            try:  # the same minimal effort as aiokafka's own leave: no retry
                await coordinator._send_req(LeaveGroupRequest(coordinator.group_id, coordinator.member_id))
            except errors.KafkaError as exc:
                log.warning("LeaveGroup for %s failed: %s", coordinator.group_id, exc)
        await original(coordinator)  # in generation 0 it sends nothing more; it resets the generation

    GroupCoordinator._maybe_leave_group = maybe_leave_group
