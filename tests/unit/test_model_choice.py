"""``python -m streams.model_choice``: how candidates are read and how their outcomes are printed
(the runs themselves are the backtest's and the cross-validation's, tested where they live)."""

from dataclasses import fields

import pytest

from alerts.evaluation.scoring import Figures
from streams.errors import ConfigError
from streams.model_choice import Candidate, Outcome, main, render


def test_a_candidate_is_a_penalty_and_a_watch_line():
    assert Candidate.parse("0.1:0.09") == Candidate(0.1, 0.09)
    assert str(Candidate.parse("0.3:0.085")) == "0.3, 0.085"


@pytest.mark.parametrize("text, says", [("0.1", "C:WATCH"), ("a:0.09", "C:WATCH"), ("0.1:0.09:1", "C:WATCH"),
                                        ("0:0.09", "C must be above 0"), ("0.1:1.5", "between 0 and 1"),
                                        ("0.1:0", "between 0 and 1")])
def test_a_bad_candidate_says_what_is_wrong(text, says):
    with pytest.raises(ConfigError, match=says):
        Candidate.parse(text)


def test_the_command_refuses_a_bad_candidate_before_any_run(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["0.1:0.09", "0.1"])
    assert exc.value.code == 2
    assert "'0.1': a candidate is C:WATCH" in capsys.readouterr().err


def _figures(early: int, false_alarms: int, per_year: float) -> Figures:
    values = {f.name: 0 for f in fields(Figures)}
    return Figures(**{**values, "early": early, "false_alarms": false_alarms, "false_alarms_per_border_year": per_year})


def test_each_candidate_is_one_row_with_every_run():
    outcome = Outcome(Candidate(0.1, 0.09), _figures(102, 475, 0.4786), _figures(97, 482, 0.4856),
                      _figures(90, 458, 0.4614), _figures(0, 15, 0.1182))
    table = render([outcome], 243).splitlines()
    assert table[0].startswith("Early warnings of the 243 labelled episodes")
    assert table[2] == ("| C, watch line | in-sample | one border held out | borders sharing a state held out | "
                        "Central Asia |")
    assert table[4] == ("| 0.1, 0.09 | 102 early, 475 false alarms (0.479) | 97 early, 482 false alarms (0.486) | "
                        "90 early, 458 false alarms (0.461) | 0 early, 15 false alarms (0.118) |")
