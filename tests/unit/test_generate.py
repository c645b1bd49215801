import csv
import json
from datetime import date

import pytest

from streams.adapters import load
from streams.generate import SCENARIOS, generate, labels_path_for, summary, write


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_seed_same_bytes_other_seed_other_stream(tmp_path, name):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write(name, a, seed=3)
    write(name, b, seed=3)
    assert a.read_bytes() == b.read_bytes()
    assert labels_path_for(a).read_text() == labels_path_for(b).read_text()
    assert generate(name, seed=4)[0] != generate(name, seed=3)[0]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_record_is_valid_and_labels_fit_the_stream(tmp_path, name):
    out = tmp_path / "s.jsonl"
    write(name, out, seed=1)
    loaded = load([out], "jsonl")
    assert not loaded.errors and loaded.records
    labels = list(csv.DictReader(open(labels_path_for(out))))
    assert len(labels) == SCENARIOS[name].escalations * SCENARIOS[name].escalating_borders
    first, last = loaded.records[0].occurred_at.date(), loaded.records[-1].occurred_at.date()
    borders = {r.border for r in loaded.records if hasattr(r, "border")}
    for lab in labels:
        assert first <= date.fromisoformat(lab["start"]) <= date.fromisoformat(lab["end"]) <= last
        assert lab["border"] in borders and lab["kind"] == "escalation"


def test_escalations_are_violent_and_busier_than_the_rest():
    records, labels = generate("escalation", seed=2)
    incidents = [json.loads(r) for r in records if b'"event_id"' in r]
    for lab in labels:
        on = [i for i in incidents if lab["start"] <= i["occurred_at"][:10] <= lab["end"]
              and "-".join(sorted(i["countries"])) == lab["border"]]
        days = (date.fromisoformat(lab["end"]) - date.fromisoformat(lab["start"])).days + 1
        rest = [i for i in incidents if "-".join(sorted(i["countries"])) == lab["border"]]
        assert len(on) / days > 5 * len(rest) / 1095
        assert sum(i["fatalities"] for i in on) > 0


def test_mixed_has_late_and_duplicate_reports_and_arms_deliveries():
    records, _ = generate("mixed", seed=0)
    s = summary(records)
    assert s["duplicate_reports"] > 0 and s["transfers"] > 0
    incidents = [json.loads(r) for r in records if b'"event_id"' in r]
    occurred = [i["occurred_at"] for i in incidents]
    assert occurred != sorted(occurred)  # report order, not event order


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(ValueError, match="escalation"):
        generate("storm")
