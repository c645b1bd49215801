"""The bounds every input record must keep, and the bounds of what borderwatch produces.

One owner: the record schema (``streams/records.py``, published by ``borderwatch schema``),
the decoder, the file adapters, ingest and the dead letters all take their limits
from here; docs/FORMATS.md lists them. Each limit is far above anything a real source sends
(the bundled data's largest values are noted) and far below what would hurt the stream.

Why these numbers:

* Kafka refuses a message over about 1 MB by default (the broker's ``message.max.bytes``, the
  producer's ``max_request_size``). One oversized incident used to crash both ingest agents of the time
  with ``MessageSizeTooLargeError``; with a record limit well under it, and what we produce
  split or cut below :data:`MAX_MESSAGE_BYTES`, no input can make us produce a message the
  broker refuses.
* JSON nesting is checked before any parser recurses into it, so a hostile ``[[[[...`` is a
  dead letter, not a ``RecursionError`` (no valid record nests deeper than 2).
* Text fields are bounded so a segment's state (the last 20 incidents' descriptions) and an
  alert's evidence stay far below the message limit even when every character needs a
  12-byte JSON escape.
"""

from __future__ import annotations

from datetime import datetime, timezone

#: Largest input record, in bytes as received (a Kafka message value, a JSONL line). Real
#: records are under 1 KiB.
MAX_RECORD_BYTES = 64 * 1024
#: Deepest JSON nesting of objects and arrays accepted (a valid record nests 2 deep).
MAX_NESTING = 32

#: Identifiers: event_id, transfer_id.
MAX_ID_CHARS = 200
#: Names and short labels: source, location_name, segment_id, an actor, supplier, designation,
#: weapon category, status (the bundled SIPRI file's longest is 35).
MAX_NAME_CHARS = 200
#: Free text: an incident's description (the bundled MIE descriptions are under 140).
MAX_DESCRIPTION_CHARS = 2000
#: Items of a list of names or codes: actors, releasable_to.
MAX_LIST_ITEMS = 50

#: Largest count of people or weapons in one record: fatalities, injuries, quantity (the MIE
#: development set's largest lower bound of deaths is 90,000).
MAX_COUNT = 1_000_000
#: Largest SIPRI TIV of one delivery, in millions (the bundled file's largest is 719).
MAX_TIV = 100_000.0
#: Years a deal may be ordered or delivered in.
YEAR_MIN, YEAR_MAX = 1900, 2100
#: Event times (occurred_at, reported_at, ended_at) must fall in [EARLIEST_TIME, LATEST_TIME):
#: MIE begins in 1816; the synthetic streams of ``borderwatch generate`` run up to a century
#: ahead. The range rejects typos and overflows (year 9999, year 1); it cannot tell a date in
#: the near future from a real one, and such a record still moves its segment's clock.
EARLIEST_TIME = datetime(1800, 1, 1, tzinfo=timezone.utc)
LATEST_TIME = datetime(2200, 1, 1, tzinfo=timezone.utc)

#: Largest message borderwatch produces (an envelope of segment-events, a dead letter): half
#: the 1 MB default, leaving room for Kafka's own batch and record overhead.
MAX_MESSAGE_BYTES = 512 * 1024
#: A dead letter whose original is over MAX_RECORD_BYTES keeps this many of its first bytes,
#: with the size and SHA-256 digest of the whole.
DEAD_LETTER_PREFIX_BYTES = 4096
#: Longest reason text or field name a dead letter or row error carries: values quoted in
#: reasons are cut to fit.
MAX_REASON_CHARS = 300
