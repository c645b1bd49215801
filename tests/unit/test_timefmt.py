"""The one time format: what ``iso`` writes, ``parse_time`` reads back to the same second."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.timefmt import iso, parse_time


def test_iso_writes_utc_with_z_to_the_second():
    east = timezone(timedelta(hours=5, minutes=30))
    assert iso(datetime(2022, 9, 14, 11, 30, 5, 999_999, tzinfo=east)) == "2022-09-14T06:00:05Z"
    assert iso(datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1)))) == "2000-01-01T00:59:59Z"


def test_iso_writes_every_year_with_four_digits():
    assert iso(datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "0999-01-02T03:04:05Z"


def test_iso_refuses_a_naive_time():
    with pytest.raises(ValueError, match="naive"):
        iso(datetime(2022, 1, 1))


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=3)),
                                               timezone(timedelta(hours=-11, minutes=-30))])))
def test_what_iso_writes_parse_time_reads_back(dt):
    assert parse_time(iso(dt)) == dt.replace(microsecond=0)
