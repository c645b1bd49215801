"""The policy file: strict validation with paths, Alertmanager matcher and route semantics."""

import re
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from alerts.access import Principal
from alerts.model import alert_labels
from alerts.policy import DEFAULT_POLICY, Matcher, PolicyError, load_policy, parse_duration, parse_policy
from tests.unit.alertdata import RECEIVERS, Segment, policy_from

BUNDLED_STATES = ("KAZ", "KGZ", "TJK", "TKM", "UZB", "AFG")


def test_the_bundled_policy_names_a_secretariat_per_state():
    pol = load_policy()
    assert pol.source == str(DEFAULT_POLICY)
    for state in BUNDLED_STATES:
        r = pol.receivers[f"secretariat-{state}"]
        assert (r.principal.role, r.principal.country) == ("secretariat", state)
    assert pol.receivers["regional-desk"].principal.role == "regional-desk"
    assert pol.receivers["operators"].principal.sees_all
    assert pol.summary().startswith(f"{DEFAULT_POLICY}: ok: {len(pol.receivers)} receivers")


def test_routes_follow_alertmanager_semantics():
    pol = load_policy()
    labels = alert_labels(Segment("KGZ-TJK-07").open("critical").to_dict())
    assert pol.receivers_for(labels) == ["operators", "regional-desk", "secretariat-KGZ", "secretariat-TJK"]
    # the deepest matching child wins and stops its siblings
    desk = [r for r in pol.routes_for(labels) if r.receiver == "regional-desk"]
    assert [r.id for r in desk] == ["route.routes[1].routes[0]"]
    assert desk[0].group_wait == timedelta(seconds=10) and desk[0].group_by == ("border",)
    watch = alert_labels(Segment("KGZ-TJK-07").open("watch").to_dict())
    assert pol.receivers_for(watch) == ["operators"]
    # without continue, the first matching sibling ends the search
    first = policy_from(RECEIVERS + """
route:
  receiver: operators
  routes:
    - {receiver: secretariat-KGZ, matchers: ['countries=~".*KGZ.*"']}
    - {receiver: secretariat-TJK, matchers: ['countries=~".*TJK.*"']}
""")
    assert first.receivers_for({"countries": "KGZ,TJK"}) == ["secretariat-KGZ"]
    assert first.receivers_for({"countries": "TJK,UZB"}) == ["secretariat-TJK"]
    assert first.receivers_for({"countries": "KAZ,UZB"}) == ["operators"]


@pytest.mark.parametrize("text,labels,expected", [
    ('border="KGZ-TJK"', {"border": "KGZ-TJK"}, True),
    ('border="KGZ-TJK"', {"border": "KGZ-TJK-07"}, False),
    ("border!=KGZ-TJK", {"border": "KGZ-UZB"}, True),
    ('level=~"warning|critical"', {"level": "critical"}, True),
    ('level=~"warn"', {"level": "warning"}, False),  # regexes match the whole value
    ('level!~"watch"', {"level": "watch"}, False),
    ('countries=~".*KGZ.*"', {"countries": "KGZ,TJK"}, True),
    ('segment_id=""', {}, True),  # a missing label is the empty string
    (r'summary="say \"hi\""', {"summary": 'say "hi"'}, True),
])
def test_matchers(text, labels, expected):
    assert Matcher.parse(text).matches(labels) is expected


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("5m", 300), ("1h30m", 5400), ("7d", 604800), ("2w", 1209600)])
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


def _problems(doc):
    with pytest.raises(PolicyError) as exc:
        parse_policy(doc, "policy.yml")
    return exc.value.problems


def _base():
    return yaml.safe_load(RECEIVERS + """
route:
  receiver: operators
  routes:
    - {receiver: secretariat-KGZ, matchers: ['countries=~".*KGZ.*"']}
    - {receiver: secretariat-TJK, matchers: ['countries=~".*TJK.*"']}
""")


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d["route"]["routes"][1].update(matchers=['segment="x"']),
     "policy.yml: route.routes[1].matchers[0]: unknown label 'segment'"),
    (lambda d: d["route"]["routes"][1].update(matchers=["border KGZ"]),
     "policy.yml: route.routes[1].matchers[0]: not a matcher"),
    (lambda d: d["route"]["routes"][0].update(recevier="x"),
     "policy.yml: route.routes[0].recevier: unknown key"),
    (lambda d: d.update(inhibit=[]), "policy.yml: inhibit: unknown key"),
    (lambda d: d["route"]["routes"][0].update(receiver="secretariat-XYZ"),
     "policy.yml: route.routes[0].receiver: no receiver named 'secretariat-XYZ'"),
    (lambda d: d["route"].update(group_wait="soon"), "policy.yml: route.group_wait: not a duration"),
    (lambda d: d["route"].update(group_by="border"), "policy.yml: route.group_by: expected a list"),
    (lambda d: d["route"].update(matchers=['level="critical"']), "policy.yml: route.matchers: not allowed on the root"),
    (lambda d: d["route"].update(mute_time_intervals=[]), "policy.yml: route.mute_time_intervals: not allowed"),
    (lambda d: d["route"]["routes"][0].update(active_time_intervals=["desk"]),
     "policy.yml: route.routes[0].active_time_intervals[0]: no time interval named 'desk'"),
    (lambda d: d["receivers"][2].pop("country"), "policy.yml: receivers[2]: say who the receiver is"),
    (lambda d: d["receivers"][2].update(country="TJK"),
     "policy.yml: receivers[2].name: a receiver named 'secretariat-KGZ' must be the secretariat of 'KGZ'"),
    (lambda d: d["receivers"][2].update(country="kg"), "policy.yml: receivers[2].country: role 'secretariat:kg'"),
    (lambda d: d["receivers"][0].update(role="root"), "policy.yml: receivers[0].role: unknown role 'root'"),
    (lambda d: d["receivers"].append(dict(d["receivers"][0])), "policy.yml: receivers[5].name: duplicate receiver"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "pager"}),
     "policy.yml: receivers[0].sinks[1].type: unknown sink type 'pager'"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "webhook"}),
     "policy.yml: receivers[0].sinks[1]: missing required key 'url'"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "webhook", "url": "https://x", "secret": "s3cr3t"}),
     "policy.yml: receivers[0].sinks[1].secret: secrets go by reference only"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "smtp", "host": "h", "from": "a@b", "to": ["c@d"],
                                                  "password": "pw"}),
     "policy.yml: receivers[0].sinks[1].password: secrets go by reference only"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "file", "dir": "x", "url": "y"}),
     "policy.yml: receivers[0].sinks[1].url: unknown key"),
    # The sinks' own keys (alerts/notify/sinks): what the worker would refuse, check-config refuses.
    (lambda d: d["receivers"][0]["sinks"].append({"type": "webhook", "url": "https://x"}),
     "policy.yml: receivers[0].sinks[1]: missing required key 'secret_file'"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "webhook", "url": "https://x", "secret_file": "f",
                                                  "timeout": "30s"}),
     "policy.yml: receivers[0].sinks[1].timeout: expected a number, got a string"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "alertmanager", "url": "https://x", "max_retries": 3}),
     "policy.yml: receivers[0].sinks[1].max_retries: unknown key"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "file", "dir": "x", "name": "f", "send_resolved": True}),
     "policy.yml: receivers[0].sinks[1].send_resolved: unknown key"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "file", "dir": "out/ops"}),
     "policy.yml: receivers[0].sinks[1].name: duplicate sink name 'file'"),
    # ... and the sinks' rules for the values (Sink.check_values): a policy the check passes, the worker builds
    (lambda d: d["receivers"][0]["sinks"].append({"type": "smtp", "host": "h", "port": 25, "from": "a@b",
                                                  "to": ["duty"], "starttls": True}),
     "policy.yml: receivers[0].sinks[1].to: smtp sink: 'to' must be a list of addresses"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "smtp", "host": "h", "port": 25, "from": "a@b",
                                                  "to": [], "starttls": True}),
     "policy.yml: receivers[0].sinks[1].to: smtp sink: 'to' needs at least one address"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "smtp", "host": "h", "port": 25, "from": "a@b",
                                                  "to": ["c@d"], "starttls": True, "username": "bw"}),
     "policy.yml: receivers[0].sinks[1].password_file: smtp sink: give both username and password_file"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "smtp", "host": "h", "port": 25, "from": "a@b",
                                                  "to": ["c@d"], "starttls": True, "timeout": 0}),
     "policy.yml: receivers[0].sinks[1].timeout: smtp sink: 'timeout' must be more than zero seconds"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "cap", "dir": "cap", "sender": "borderwatch centre"}),
     "policy.yml: receivers[0].sinks[1].sender: cap sink: CAP sender 'borderwatch centre'"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "file", "name": "f2", "dir": "x", "formats": ["docx"]}),
     "policy.yml: receivers[0].sinks[1].formats: file sink: unknown format(s) docx"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "alertmanager", "url": "http://am:9093", "ttl": -1}),
     "policy.yml: receivers[0].sinks[1].ttl: alertmanager sink: 'ttl' must be more than zero seconds"),
    (lambda d: d["receivers"][0]["sinks"].append({"type": "webhook", "url": "ftp://x", "secret_file": "f"}),
     "policy.yml: receivers[0].sinks[1].url: webhook sink: url must be http(s)"),
    (lambda d: d.update(inhibit_rules=[{"source_matchers": [], "target_matchers": ['level="warning"'],
                                        "equal": ["segment"]}]),
     "policy.yml: inhibit_rules[0].source_matchers: needs at least one matcher"),
    (lambda d: d.update(inhibit_rules=[{"source_matchers": ['level="critical"'], "target_matchers": ['level="warning"'],
                                        "equal": ["segment"]}]),
     "policy.yml: inhibit_rules[0].equal[0]: unknown label 'segment'"),
    (lambda d: d.update(time_intervals=[{"name": "x", "time_intervals": [{"weekdays": ["friday:monday"]}]}]),
     "policy.yml: time_intervals[0].time_intervals[0].weekdays[0]: range 'friday:monday' runs backwards"),
    (lambda d: d.update(time_intervals=[{"name": "x", "time_intervals": [{"location": "Mars/Olympus"}]}]),
     "policy.yml: time_intervals[0].time_intervals[0].location: unknown time zone"),
    (lambda d: d.update(time_intervals=[{"name": "x", "time_intervals": [
        {"times": [{"start_time": "19:00", "end_time": "08:00"}]}]}]),
     "policy.yml: time_intervals[0].time_intervals[0].times[0]: start_time must be before end_time"),
    (lambda d: d.update(time_intervals=yaml.safe_load("[{name: x, time_intervals: [{times: [{start_time: '09:00', "
                                                      "end_time: 18:00}]}]}]")),
     "policy.yml: time_intervals[0].time_intervals[0].times[0].end_time: quote times ('18:00')"),
    (lambda d: d.update(silences={"max_duration": "7d", "require_one_of": []}),
     "policy.yml: silences.require_one_of: name at least one label"),
    (lambda d: d.update(silences={"max": "7d"}), "policy.yml: silences.max: unknown key"),
    (lambda d: d.update(acknowledgements={"default_expiry": "8d", "max_expiry": "7d"}),
     "policy.yml: acknowledgements.default_expiry: 8d is longer than max_expiry 7d"),
])
def test_every_mistake_is_named_with_file_and_path(mutate, expected):
    doc = _base()
    parse_policy(_base(), "policy.yml")  # the base is valid
    mutate(doc)
    problems = _problems(doc)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_sink_the_policy_check_takes_is_a_sink_the_worker_builds(tmp_path):
    """Every key each sink declares, through the policy check and into the sink."""
    from alerts.notify.sinks import build_sink, sink_types

    secret = tmp_path / "secret"
    secret.write_text("s" * 32)
    by_type = {str: str(secret), int: 25, list: ["desk@kg.example"], bool: False, (int, float): 5}
    by_key = {"dir": str(tmp_path / "out"), "url": "https://x.example", "formats": ["html"],
              "from": "borderwatch@centre.example", "sender": "borderwatch@centre.example"}
    for kind, sink in sink_types().items():
        options = {k: by_key.get(k, by_type[t]) for k, t in {**sink.REQUIRED, **sink.OPTIONAL}.items()}
        pol = parse_policy({"receivers": [{"name": "operators", "role": "operator", "sinks": [{"type": kind, **options}]}],
                            "route": {"receiver": "operators"}}, "policy.yml")
        (sc,) = pol.receivers["operators"].sinks
        assert build_sink({"type": sc.type, **dict(sc.options)}).type == kind


def test_all_problems_are_reported_at_once():
    doc = _base()
    doc["route"]["routes"][0]["colour"] = "red"
    doc["route"]["routes"][1]["matchers"] = ['segment="x"']
    assert len(_problems(doc)) == 2


def test_unreadable_files_say_which(tmp_path):
    bad = tmp_path / "policy.yml"
    bad.write_text("route: [unclosed\n")
    with pytest.raises(PolicyError, match=f"^{re.escape(str(bad))}:2:1: not valid YAML: while parsing a flow "
                                          "sequence; expected ',' or ']', but got '<stream end>'$"):
        load_policy(bad)
    bad.write_text("receivers:\n  - name: a\n   country: KGZ\n")
    with pytest.raises(PolicyError, match=f"^{re.escape(str(bad))}:3:4: not valid YAML: while parsing a block "
                                          "collection; expected <block end>, but found '<block mapping start>'$"):
        load_policy(bad)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yml")
    bad.write_text("- just a list\n")
    with pytest.raises(PolicyError, match=f"^{bad}: expected a mapping"):
        load_policy(bad)


def test_group_by_and_timings_are_inherited_and_dots_mean_every_label():
    pol = policy_from(RECEIVERS + """
route:
  receiver: operators
  group_by: [border]
  group_interval: 10m
  routes:
    - receiver: regional-desk
      group_wait: 1m
      routes:
        - {receiver: secretariat-KGZ, group_by: ['...']}
""")
    leaf = pol.route.routes[0].routes[0]
    assert (leaf.group_wait, leaf.group_interval) == (timedelta(minutes=1), timedelta(minutes=10))
    assert leaf.group_by is None and leaf.group_labels({"b": "1", "a": "2"}) == {"a": "2", "b": "1"}
    assert pol.route.routes[0].group_by == ("border",)


def test_time_intervals_use_their_zone_and_alertmanager_ranges():
    pol = policy_from(RECEIVERS + """
route: {receiver: operators}
time_intervals:
  - name: desk
    time_intervals:
      - {weekdays: ['monday:friday'], times: [{start_time: '09:00', end_time: '18:00'}], location: Asia/Bishkek}
  - name: month-end
    time_intervals: [{days_of_month: ['-1'], months: ['december']}]
""")
    desk, end = pol.time_intervals["desk"], pol.time_intervals["month-end"]
    utc = lambda *a: datetime(*a, tzinfo=timezone.utc)  # noqa: E731
    # Bishkek is UTC+6: 09:00 there is 03:00 UTC
    assert not desk.contains(utc(2026, 1, 5, 2, 59)) and desk.contains(utc(2026, 1, 5, 3, 0))
    assert desk.contains(utc(2026, 1, 9, 11, 59)) and not desk.contains(utc(2026, 1, 9, 12, 0))
    assert not desk.contains(utc(2026, 1, 10, 6, 0))  # Saturday
    assert end.contains(utc(2026, 12, 31, 12)) and not end.contains(utc(2026, 12, 30, 12))
    assert not end.contains(utc(2026, 11, 30, 12))


def test_each_receiver_is_a_principal():
    pol = load_policy()
    assert pol.receiver_principal("secretariat-KGZ") == Principal("secretariat-KGZ", "secretariat", "KGZ")
    assert pol.receiver_principal("operators").role == "operator"
    assert pol.receiver_principal("secretariat-CHN") is None


def test_every_yaml_example_in_the_alerting_doc_is_a_valid_policy_part():
    doc = (DEFAULT_POLICY.parents[2] / "docs" / "ALERTING.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    assert len(blocks) >= 5
    base = yaml.safe_load(DEFAULT_POLICY.read_text())
    for block in blocks:
        part = yaml.safe_load(block)
        merged = {**base, **part}
        if "receivers" in part:  # examples name only some receivers: keep the bundled ones too
            named = {r["name"] for r in part["receivers"]}
            merged["receivers"] = part["receivers"] + [r for r in base["receivers"] if r["name"] not in named]
        parse_policy(merged, "ALERTING.md")
