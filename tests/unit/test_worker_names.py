"""How a named worker reads the worker-names topic (streams.worker_names): pure, no broker."""

import asyncio
import json

import pytest

from streams.broker import free_port
from streams.errors import BrokerError
from streams.worker_names import HELD, PROBE, NameClaim, claim_name, describe


def other(kind, offset_answered=None, **kw):
    rec = {"kind": kind, "app_id": "bw", "name": "desk-1", "nonce": "theirs", "pid": 41, "host": "h2",
           "web": "http://127.0.0.1:6067", "since": "2026-12-03T12:00:00Z", **kw}
    if offset_answered is not None:
        rec["answers"] = offset_answered
    return json.dumps(rec).encode()


def claim(probe_offset=10):
    c = NameClaim("bw", "desk-1", nonce="mine", identity={"pid": 7, "host": "h1"})
    c.probe_offset = probe_offset
    return c


def test_a_later_probe_for_the_name_is_answered_once_with_who_holds_it():
    c = claim()
    what, raw = c.see(12, other(PROBE))
    assert what == "answer"
    assert json.loads(raw) == {"kind": HELD, "app_id": "bw", "name": "desk-1", "nonce": "mine", "pid": 7,
                               "host": "h1", "answers": 12}
    assert c.see(12, other(PROBE))[0] == "answer"  # until the answer is taken
    c.answered.add(12)
    assert c.see(12, other(PROBE)) == ("ignore", None)  # read again after the window: not answered twice


def test_an_answer_to_its_own_probe_means_the_name_is_taken():
    c = claim()
    what, holder = c.see(11, other(HELD, 10))
    assert what == "taken" and holder["pid"] == 41
    assert "'desk-1' is in use" in c.refusal(holder) and "pid 41 on host h2" in c.refusal(holder)


def test_what_does_not_concern_this_claim_is_ignored():
    c = claim()
    assert c.see(9, other(PROBE)) == ("ignore", None)  # an earlier probe: that starter hears this one's
    assert c.see(13, other(HELD, 8)) == ("ignore", None)  # an answer to someone else's probe
    assert c.see(14, other(PROBE, name="desk-2")) == ("ignore", None)
    assert c.see(15, other(PROBE, app_id="other-app")) == ("ignore", None)
    assert c.see(16, other(PROBE, nonce="mine")) == ("ignore", None)  # its own probe
    assert c.see(17, b"not json") == ("ignore", None)
    assert c.see(18, b"[1, 2]") == ("ignore", None)
    assert claim(None).see(19, other(PROBE)) == ("ignore", None)  # before its own probe is written


def test_describe_says_what_a_held_record_tells():
    assert describe({"pid": 3, "host": "h"}) == "pid 3 on host h"
    assert describe(json.loads(other(HELD, 1))) == ("pid 41 on host h2, web http://127.0.0.1:6067, "
                                                    "since 2026-12-03T12:00:00Z")


def test_a_probe_the_broker_does_not_take_is_a_broker_error_not_a_traceback():
    with pytest.raises(BrokerError, match="did not take the probe for the worker name 'desk-1'"):
        asyncio.run(claim_name(claim(None), f"kafka://127.0.0.1:{free_port()}", "bw.worker-names", seconds=0.1))
