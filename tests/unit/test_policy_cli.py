"""`borderwatch check-config` and `borderwatch routes test` as a user runs them."""

import pytest

from alerts.access import Principal
from alerts.policy import DEFAULT_POLICY, load_policy
from streams.cli import main


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_check_config_prints_one_summary_line(capsys, monkeypatch):
    monkeypatch.delenv("BORDERWATCH_POLICY_FILE", raising=False)
    rc, out, err = run(capsys, "check-config")
    assert rc == 0 and err == ""
    assert out.splitlines() == [load_policy().summary()] and out.startswith(f"{DEFAULT_POLICY}: ok:")


def test_check_config_names_file_and_path_of_each_mistake(capsys, tmp_path, monkeypatch):
    bad = tmp_path / "policy.yml"
    bad.write_text(DEFAULT_POLICY.read_text().replace("group_by: [border]\n", "group_by: [border]\n      grup_wait: 1m\n", 1))
    rc, out, err = run(capsys, "check-config", "--policy", str(bad))
    assert rc == 1 and out == ""
    assert err.startswith(f"{bad}: route.routes[1].grup_wait: unknown key")
    monkeypatch.setenv("BORDERWATCH_POLICY_FILE", str(bad))
    assert run(capsys, "check-config")[0] == 1


def test_check_config_checks_the_policy_the_worker_would_load(capsys, tmp_path, monkeypatch):
    """The worker reads BORDERWATCH_POLICY_FILE; check-config read BORDERWATCH_POLICY and so passed
    the bundled policy while the worker was about to load a broken one. The old name, which
    docs/ALERTING.md gave, is refused with the right one, by the worker as by check-config."""
    from streams.errors import ConfigError
    from streams.settings import load_settings

    bad = tmp_path / "policy.yml"
    bad.write_text("route: [\n")
    monkeypatch.setenv("BORDERWATCH_POLICY_FILE", str(bad))
    rc, out, err = run(capsys, "check-config")
    assert rc == 1 and out == "" and err.startswith(str(bad))
    monkeypatch.delenv("BORDERWATCH_POLICY_FILE")
    monkeypatch.setenv("BORDERWATCH_POLICY", str(bad))
    rc, out, err = run(capsys, "check-config")
    assert rc == 2 and out == ""
    assert err == ("borderwatch check-config: error: BORDERWATCH_POLICY is not read: the variable is "
                   "BORDERWATCH_POLICY_FILE\n")
    with pytest.raises(ConfigError, match="BORDERWATCH_POLICY_FILE"):
        load_settings(environ={"BORDERWATCH_POLICY": str(bad)})


def test_a_policy_saved_as_utf16_is_named_not_a_traceback(capsys, tmp_path):
    bad = tmp_path / "policy.yml"
    bad.write_bytes(DEFAULT_POLICY.read_text().encode("utf-16"))  # as Notepad saves "Unicode"
    rc, out, err = run(capsys, "check-config", "--policy", str(bad))
    assert rc == 1 and out == "" and "Traceback" not in err
    assert err.startswith(f"{bad}: not UTF-8 text (invalid start byte at byte 0): save it as UTF-8")


@pytest.mark.parametrize("labels", [
    ["border=KGZ-TJK", "level=critical"],
    ["border=KGZ-TJK", "level=warning", "releasable_to=KGZ"],
    ["segment_id=TJK-UZB-03", "level=critical", "peak_level=critical"],
    ["border=KAZ-UZB", "level=watch"],
])
def test_routes_test_prints_who_would_get_it(capsys, labels):
    rc, out, err = run(capsys, "routes", "test", *labels)
    assert rc == 0, err
    pol = load_policy()
    given = dict(x.split("=", 1) for x in labels)
    border = given.get("border") or given["segment_id"][:7]
    alert = {"countries": border.split("-"), "releasable_to": given.get("releasable_to", "ALL").split(",")}
    lines = out.splitlines()
    reached = lines[0].split(",")
    assert reached[0] == "operators"
    for r in reached:
        assert pol.receivers[r].principal.sees(alert)
    withheld = lines[1].removeprefix("withheld by releasability: ").split(",") if len(lines) > 1 else []
    for r in withheld:
        assert not pol.receivers[r].principal.sees(alert)
    # a secretariat of a state on the border hears of a warning released to it; no other does
    level = given["level"]
    for state in ("KAZ", "KGZ", "TJK", "TKM", "UZB", "AFG"):
        p = Principal.parse("x", f"secretariat:{state}")
        expected = level != "watch" and p.sees(alert)
        assert (f"secretariat-{state}" in reached) == expected


def test_routes_test_reads_an_empty_release_list_as_the_centres_alone(capsys):
    # as an alert whose releasable_to is empty: only the centre may see it, so no desk is notified
    rc, out, err = run(capsys, "routes", "test", "border=KGZ-TJK", "level=critical", "releasable_to=")
    assert rc == 0, err
    reached, withheld = out.splitlines()
    assert "secretariat" not in reached and reached.split(",")[0] == "operators"
    assert set(withheld.removeprefix("withheld by releasability: ").split(",")) == {"regional-desk", "secretariat-KGZ", "secretariat-TJK"}


def test_routes_test_refuses_unknown_labels(capsys):
    rc, out, err = run(capsys, "routes", "test", "segment=KGZ-TJK-07")
    assert rc == 2 and "unknown label 'segment'" in err
    rc, out, err = run(capsys, "routes", "test", "border")
    assert rc == 2 and "LABEL=VALUE" in err
