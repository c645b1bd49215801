"""Backtest extras: score traces, labels files and the HTML report (in-process, no broker)."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from alerts.escalation import LEVEL_INDEX
from streams.adapters import load
from streams.backtest import evaluate_result, report_html, run_records
from streams.errors import SourceRowError
from streams.generate import labels_path_for, write
from streams.labels import read_labels
from streams.pipeline import Pipeline
from streams.segments import SegmentRegistry
from streams.windows import day_of

LABEL_HEADER = "episode_id,border,start,end,kind\n"


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "escalation.jsonl"
    write("escalation", out, seed=5)
    return load([out], "jsonl").records, read_labels(str(labels_path_for(out)))


def test_tracing_records_every_decision_without_changing_one(stream):
    records, _ = stream
    plain = run_records(Pipeline(SegmentRegistry.default()), records)
    pipeline = Pipeline(SegmentRegistry.default())
    traced = run_records(pipeline, records, trace=True)
    assert traced.history.rows() == plain.history.rows()
    assert pipeline.observer is None and not plain.trace
    levels = {(key, day): level for key, day, _, level in traced.trace}
    for row in traced.history.rows():  # each opening was a scoring that decided a level
        day = day_of(_utc(row["opened_at"]))
        assert levels[(row["segment_id"], day)] >= LEVEL_INDEX["watch"]
    assert all(0.0 <= score <= 1.0 for _, _, score, _ in traced.trace)


def _utc(text):
    from streams.records import parse_time

    return parse_time(text, "t")


@pytest.mark.parametrize("body,line,field", [
    ("E1,KGZ-TJK,2021-13-01,2021-12-02,escalation\n", 2, "start"),
    ("E1,TJK-KGZ,2021-01-01,2021-01-02,escalation\n", 2, "border"),
    ("E1,KGZ-TJK,2021-01-05,2021-01-02,escalation\n", 2, "end"),
    ("E1,KGZ-TJK,2021-01-01,2021-01-02,skirmish\n", 2, "kind"),
    ("E1,KGZ-TJK,2021-01-01,2021-01-02,negative_control\n", 2, "border"),
    ("E1,KGZ-TJK,2021-01-01,2021-01-02,escalation\nE1,KGZ-UZB,2021-01-01,2021-01-02,escalation\n", 3, "episode_id"),
    ("E1,,2021-01-01,2021-01-02,escalation\n", 2, "border"),
])
def test_bad_labels_name_file_line_and_field(tmp_path, body, line, field):
    path = tmp_path / "labels.csv"
    path.write_text(LABEL_HEADER + body)
    with pytest.raises(SourceRowError) as exc:
        read_labels(str(path))
    assert (exc.value.path, exc.value.line, exc.value.field) == (str(path), line, field)
    assert f"{path}:{line}: {field}:" in str(exc.value)


def test_labels_without_a_needed_column_are_refused_at_the_header(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("episode_id,border,start,end\nE1,KGZ-TJK,2021-01-01,2021-01-02\n")
    with pytest.raises(SourceRowError, match="labels.csv:1: kind: missing column"):
        read_labels(str(path))


def test_labels_saved_with_a_byte_order_mark_load(tmp_path):
    path = tmp_path / "labels.csv"  # as a spreadsheet saves "CSV UTF-8"
    path.write_bytes(b"\xef\xbb\xbf" + (LABEL_HEADER + "E1,KGZ-TJK,2021-01-01,2021-01-02,escalation\n").encode())
    assert [r["episode_id"] for r in read_labels(str(path))] == ["E1"]


def test_the_bundled_labels_load():
    rows = read_labels("streams/data/escalations-central-asia.csv")
    assert {r["kind"] for r in rows} == {"escalation", "negative_control"}


def test_report_is_one_self_contained_page_with_a_timeline_per_border(stream):
    records, labels = stream
    pipeline = Pipeline(SegmentRegistry.default())
    res = run_records(pipeline, records, trace=True)
    ev = evaluate_result(res, labels)
    page = report_html(res, pipeline, title="test <run>", labels=labels, evaluation=ev)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "src=" not in page
    # the only links are the contents' to the page's own sections, each to one that is there
    links, ids = re.findall(r'href="([^"]*)"', page), set(re.findall(r' id="([^"]*)"', page))
    borders = sorted({r.border for r in records if hasattr(r, "border")})
    assert "#results" in links and set(links) - {"#results", "#reliability"} == {f"#border-{b}" for b in borders}
    assert {link[1:] for link in links} <= ids
    assert "test &lt;run&gt;" in page
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    for svg in svgs:  # every drawing is well-formed XML (an unquoted attribute would swallow the rest)
        ET.fromstring(svg)
    svgs = [svg for svg in svgs if 'aria-label="reliability diagram"' not in svg]
    borders = sorted({r.border for r in records if hasattr(r, "border")})
    for border in borders:
        assert f"<h2>{border}</h2>" in page
    # one full timeline per border, a close-up per labelled escalation and one per negative
    # control on every border of its state
    controls = sum(lab["border"] in b.split("-") for lab in labels for b in borders
                   if lab["kind"] == "negative_control")
    assert controls and len(svgs) == len(borders) + sum(lab["kind"] == "escalation" for lab in labels) + controls
    for row in res.history.rows():
        assert row["alert_id"] in page
    for lab in labels:
        assert lab["episode_id"] in page
    for e in ev.episodes:  # each close-up says how the reference rules count its episode
        mark = e.status + (f", lead {e.lead_days} d" if e.lead_days is not None else "")
        assert f"<title>{e.episode_id} ({e.onset} to {e.end}): {mark}</title>" in page
        assert f"<td>{e.episode_id}</td><td>{e.border}</td><td>{e.onset}</td><td>{e.status}</td>" in page
    for c in ev.controls:
        assert f"<td>{c.episode_id}</td><td>{c.border}</td>" in page
    full = [svg for svg in svgs if any(f"<title>{b}, " in svg for b in borders)]
    drawn = sum(len(re.findall(r"M[\d.]+ [\d.]+h0", svg)) for svg in full)
    scored_days = {(border_of(k), d) for k, d, _, _ in res.trace}
    assert drawn == len(scored_days)  # one dot per border and scored day on the full timelines


def border_of(key):
    return "-".join(key.split("-")[:2])


def test_report_draws_negative_controls_on_the_borders_of_their_state(stream):
    records, labels = stream
    pipeline = Pipeline(SegmentRegistry.default())
    res = run_records(pipeline, records, trace=True)
    start = records[0].occurred_at.date() + timedelta(days=100)
    control = {"episode_id": "NC-TEST", "border": "TJK", "start": start.isoformat(),
               "end": (start + timedelta(days=5)).isoformat(), "kind": "negative_control"}
    page = report_html(res, pipeline, title="t", labels=labels + [control])
    tjk_borders = sorted({r.border for r in records if hasattr(r, "border") and "TJK" in r.border})
    assert page.count("<title>NC-TEST (") == len(tjk_borders)  # a close-up on each border of the state


def test_report_draws_the_reliability_of_the_hazard_forecast(stream):
    """Predicted against observed frequency: every labelled incident day in exactly one band."""
    from detectors.calibration import reliability
    from detectors.hazard import model_of
    from streams.training import forecasts, labelled_rows

    records, labels = stream
    pipeline = Pipeline(SegmentRegistry.default())
    res = run_records(pipeline, records, trace=True)
    page = report_html(res, pipeline, title="t", labels=labels, evaluation=evaluate_result(res, labels))
    assert '<h2 id="reliability">Reliability of the forecast</h2>' in page
    [svg] = re.findall(r'<svg[^>]*aria-label="reliability diagram".*?</svg>', page, flags=re.S)
    rows = labelled_rows(records, labels, pipeline.registry, pipeline.settings)
    bins = reliability(forecasts(rows, model_of(pipeline.detector)))
    assert sum(b.n for b in bins) == len(rows) > 0
    assert svg.count("<circle") == len(bins)
    for b in bins:
        assert f"<td>{b.lo:.1%} to {b.hi:.1%}</td><td>{b.n}</td>" in page
    # a stack without a forecast draws none
    from detectors.rules import reference_stack

    plain = Pipeline(SegmentRegistry.default(), reference_stack())
    res = run_records(plain, records, trace=True)
    assert "Reliability" not in report_html(res, plain, title="t", labels=labels)


def test_the_reliability_diagram_keeps_to_the_borders_of_the_report(stream):
    """``--borders`` scopes the page: the diagram counts the scoped borders' days, not every labelled one's."""
    from streams.training import labelled_rows

    records, labels = stream
    pipeline = Pipeline(SegmentRegistry.default())
    res = run_records(pipeline, records, trace=True)
    rows = labelled_rows(records, labels, pipeline.registry, pipeline.settings)
    border = sorted({r.border for r in rows})[0]
    assert len({r.border for r in rows}) > 1  # the scope leaves some out: the test can fail
    page = report_html(res, pipeline, title="t", labels=labels, borders=[border],
                       evaluation=evaluate_result(res, labels, scope=[border]))
    counts = [int(n) for n in re.findall(r"<td>[\d.]+% to [\d.]+%</td><td>(\d+)</td>", page)]
    assert sum(counts) == sum(r.border == border for r in rows) > 0


def test_a_pair_that_shares_no_land_border_gets_no_section():
    """MIE codes Afghanistan with the USA or the UK; such a pair is no border, on this page either."""
    from pathlib import Path

    mie = Path(__file__).resolve().parents[2] / "streams" / "data" / "mie-1.0-central-asia.csv"
    records = load([mie], "mie").records
    assert any(r.border == "AFG-USA" for r in records)  # the file has them: the test can fail
    pipeline = Pipeline(SegmentRegistry.default())
    res = run_records(pipeline, records, trace=True)
    page = report_html(res, pipeline, title="Central Asia")
    assert "AFG-USA" not in page and "AFG-GBR" not in page
    assert "KGZ-TJK" in page


def test_axis_labels_stay_inside_the_drawing():
    """A short span whose month tick falls on its last day: the label is drawn inside, not cut ('Jul 196')."""
    from datetime import date

    from alerts.evaluation.report import render_report

    incidents = [("EGY-ISR", date(1961, 6, 25), 0), ("EGY-ISR", date(1961, 7, 1), 0)]
    page = render_report(title="t", period=(date(1961, 6, 25), date(1961, 7, 1)), incidents=incidents,
                         trace=[], alert_rows=[])
    [svg] = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    root = ET.fromstring(svg)
    width = float(root.get("width"))
    labels = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text == "Jul 1961"]
    assert labels  # the tick is drawn: the test can fail
    for t in labels:
        x, w = float(t.get("x")), 6.0 * len(t.text)  # 10 px type
        left = {"start": x, "middle": x - w / 2, "end": x - w}[t.get("text-anchor")]
        assert 0 <= left and left + w <= width


def test_the_episode_table_says_why_an_episode_was_not_scored(stream):
    records, labels = stream
    pipeline = Pipeline(SegmentRegistry.default())
    res = run_records(pipeline, records, trace=True)
    border = next(lab["border"] for lab in labels if lab["kind"] == "escalation")
    later = max(r.occurred_at for r in records).date() + timedelta(days=400)
    after = {"episode_id": "AFTER-THE-DATA", "border": border, "start": later.isoformat(),
             "end": later.isoformat(), "kind": "escalation"}
    ev = evaluate_result(res, labels + [after])
    assert [x.episode_id for x in ev.not_scored] == ["AFTER-THE-DATA"]
    page = report_html(res, pipeline, title="t", labels=labels + [after], evaluation=ev)
    assert (f"<td>AFTER-THE-DATA</td><td>{border}</td><td>{later}</td>"
            "<td>not scored (onset outside the data span)</td>") in page


@pytest.mark.parametrize("highest, ticks", [
    (0.08, ["0%", "2%", "4%", "6%", "8%", "10%"]),
    (0.3, ["0%", "10%", "20%", "30%"]),
    (0.73, ["0%", "20%", "40%", "60%", "80%"]),  # was 0 %, 16 %, 32 %, 48 %, 64 %, 80 %
    (0.879, ["0%", "20%", "40%", "60%", "80%", "100%"]),  # was 0 %, 18 %, 36 %, ...
])
def test_the_reliability_axes_count_in_round_steps_and_reach_every_interval(highest, ticks):
    from alerts.evaluation.report import reliability_layout
    from detectors.calibration import ReliabilityBin

    layout = reliability_layout([ReliabilityBin(0.0, 0.1, 10, 0.05, 0.04, 0.0, highest)])
    assert [t["text"] for t in layout["axis_ticks"]] == ticks
    top_y = float(layout["axis_ticks"][-1]["y"]) - 3
    assert all(float(d["hi"]) >= top_y - 1e-6 for d in layout["dots"])  # the interval stays on the plot
    for t in layout["axis_ticks"]:  # and every label on the drawing ('100%' at the right edge read '100')
        x, w = float(t["x"]), 6.0 * len(t["text"])  # 10 px type
        left = {"start": x, "middle": x - w / 2, "end": x - w}[t["anchor"]]
        assert 0 <= left and left + w <= layout["size"]
