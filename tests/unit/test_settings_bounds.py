"""Settings a deployment gets wrong: each refused in one line that names the setting, the value, the
flag and the environment variable, before the worker starts anything (no traceback, no busy loop,
no silent default)."""

import subprocess
import sys
from pathlib import Path

import pytest

from streams.broker import free_port
from streams.errors import ConfigError
from streams.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, env=None, timeout=60):
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("BORDERWATCH_")}
    return subprocess.run([sys.executable, "-m", "streams.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={**environ, **(env or {})})


@pytest.mark.parametrize("name, value, says", [
    ("batch_size", "0", "batch_size must be at least 1, got 0"),  # was aiokafka's traceback at start
    ("batch_seconds", "-1", "batch_seconds must be 0 or more, got -1.0"),
    ("tick_seconds", "0", "tick_seconds must be more than 0, got 0.0"),  # was a timer firing without pause
    ("commit_seconds", "0", "commit_seconds must be more than 0, got 0.0"),
    ("idle_seconds", "-1", "idle_seconds must be more than 0, got -1.0"),
    ("session_timeout", "-1", "session_timeout must be at least 1, got -1.0"),  # was joins that never ended
    ("session_timeout", "nan", "session_timeout must be a finite number, got nan"),
    ("stall_seconds", "inf", "stall_seconds must be a finite number, got inf"),
    ("web_port", "0", "web_port must be at least 1, got 0"),  # was a worker announcing http://...:0/
    ("web_port", "99999", "web_port must be at most 65535, got 99999"),  # was an OverflowError traceback
    ("log_level", "loud", "log_level must be one of debug, info, warn, warning, error, critical, got 'loud'"),
    ("notify", "5", "notify must be one of 0, 1, got 5"),  # the flag refused it, the variable took it
    ("fetch_wait_seconds", "2", "fetch_wait_seconds must be at most fetch_wait_idle_seconds, got 2.0 and 1.5"),
])
def test_a_bad_setting_names_itself_its_value_its_flag_and_its_variable(name, value, says):
    env = "BORDERWATCH_" + name.upper()
    with pytest.raises(ConfigError) as err:
        load_settings(environ={env: value})
    assert str(err.value) == f"{says} (--{name.replace('_', '-')} or {env})"


def test_a_log_level_is_taken_in_any_case_from_the_variable_and_the_flag():
    assert load_settings(environ={"BORDERWATCH_LOG_LEVEL": "INFO"}).log_level == "info"
    assert load_settings({"log_level": "Debug"}, environ={}).log_level == "debug"
    res = cli("worker", "--log-level", "INFO", "--web-port", "0")
    assert "invalid choice" not in res.stderr and "web_port must be at least 1" in res.stderr  # got past the level


@pytest.mark.parametrize("url", ["notaurl", "ftp://bw.example", "https://bw example.org", "bw.example.org"])
def test_a_public_url_that_no_acknowledgement_link_could_start_with_is_refused(url):
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"BORDERWATCH_PUBLIC_URL": url})
    assert str(err.value) == (f"public_url must be an http(s) URL such as https://borderwatch.example.org, got "
                              f"{url!r} (--public-url or BORDERWATCH_PUBLIC_URL)")
    for good in ("https://bw.example.org", "http://127.0.0.1:6066", "https://bw.example.org/desk/", "http://[::1]:6066"):
        assert load_settings({"public_url": good}, environ={}).public_url == good


def test_a_variable_nothing_reads_is_said_with_the_setting_it_may_stand_for():
    res = cli("schema", "incident", env={"BORDERWATCH_PARTITION": "4", "BORDERWATCH_TANSU_BIN": "/x",
                                         "BORDERWATCH_PARTITIONS": "4"})
    assert res.returncode == 0
    assert res.stderr.splitlines() == ["borderwatch schema: warning: BORDERWATCH_PARTITION is not a variable "
                                       "borderwatch reads (did you mean BORDERWATCH_PARTITIONS?)"]


def test_the_defaults_and_the_compose_files_values_pass():
    load_settings(environ={})
    load_settings({"web_host": "0.0.0.0", "web_port": 6066, "partitions": 8, "instance_id": "worker-1"}, environ={})


@pytest.mark.parametrize("args, says", [
    (("--batch-size", "0"), "borderwatch worker: error: batch_size must be at least 1, got 0 "
                            "(--batch-size or BORDERWATCH_BATCH_SIZE)"),
    (("--web-port", "99999"), "borderwatch worker: error: web_port must be at most 65535, got 99999 "
                              "(--web-port or BORDERWATCH_WEB_PORT)"),
    (("--web-host", "no-such-host.invalid"), "borderwatch worker: error: cannot serve the web API on "
                                             "no-such-host.invalid port {port}: "),
    (("--data-dir", "/proc/no-such-dir"), "borderwatch worker: error: cannot make the data directory "
                                          "/proc/no-such-dir: No such file or directory; check --data-dir"),
])
def test_the_worker_refuses_what_it_cannot_run_with_in_one_line(tmp_path, args, says):
    port = free_port()
    res = cli("worker", "--web-port", port, "--data-dir", tmp_path / "data", *args,
              env={"BORDERWATCH_BROKER": f"kafka://127.0.0.1:{free_port()}", "BORDERWATCH_BROKER_WAIT_SECONDS": "1"})
    assert res.returncode == 2
    (line,) = [x for x in res.stderr.splitlines() if x]  # one line, no traceback
    assert line.startswith(says.format(port=port)), line
    assert "taken" not in line or "--web-host" not in args  # an unknown host is not a port in use


def test_a_data_dir_that_is_a_file_is_said_to_be_one(tmp_path):
    (tmp_path / "state").write_text("not a directory")
    res = cli("worker", "--web-port", free_port(), "--data-dir", tmp_path / "state",
              env={"BORDERWATCH_BROKER": f"kafka://127.0.0.1:{free_port()}", "BORDERWATCH_BROKER_WAIT_SECONDS": "1"})
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"cannot make the data directory {tmp_path / 'state'}: it is a file, not a directory" in res.stderr


def test_the_broker_refuses_a_port_that_is_not_one():
    res = cli("broker", "--port", "99999")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.splitlines()[-1] == "borderwatch broker: error: argument --port: '99999' is not a port (1-65535)"


def test_a_tokens_file_that_does_not_exist_is_said_at_start(tmp_path):
    """Read as empty (token add may make it while the worker runs), so a mistyped path locked every
    named desk out, and with no API token everyone, without a word."""
    missing = tmp_path / "tokns.json"
    res = cli("worker", "--web-port", free_port(), "--data-dir", tmp_path / "data", "--tokens-file", missing,
              env={"BORDERWATCH_BROKER": f"kafka://127.0.0.1:{free_port()}", "BORDERWATCH_BROKER_WAIT_SECONDS": "1"})
    assert res.returncode == 2  # no broker; what matters is what it said before it looked for one
    assert (f"the tokens file {missing} does not exist: no named token works until 'borderwatch token add "
            f"--tokens-file {missing}' makes it, and no API token is set: nobody can sign in meanwhile") in res.stdout


def test_a_worker_whose_alert_ids_are_not_keyed_says_so_at_start(tmp_path):
    """Unkeyed ids are the default; a deployment that releases alerts selectively needs a key, so the
    worker says what it leaves open, and says nothing once keyed."""
    from streams.worker import UNKEYED_IDS

    env = {"BORDERWATCH_BROKER": f"kafka://127.0.0.1:{free_port()}", "BORDERWATCH_BROKER_WAIT_SECONDS": "1"}
    res = cli("worker", "--web-port", free_port(), "--data-dir", tmp_path / "data", env=env)
    assert res.returncode == 2 and UNKEYED_IDS in res.stdout  # no broker; what it said before it looked
    key = tmp_path / "alert-id.key"
    key.write_text("k" * 32)
    res = cli("worker", "--web-port", free_port(), "--data-dir", tmp_path / "data", "--alert-id-key-file", key,
              env=env)
    assert res.returncode == 2 and "alert ids are not keyed" not in res.stdout and "worker settings:" in res.stdout


@pytest.mark.parametrize("args, says", [
    (("replay", ROOT / "streams/data/mie-1.0-central-asia.csv", "--format", "mie", "--speed", "nan"),
     "borderwatch replay: error: --speed must be 'max' or a positive number of event-seconds per second, not 'nan'"),
    (("token", "add", "--name", "x", "--role", "operator", "--days", "99999999999"),
     "borderwatch token: error: --days 99999999999 is past the last date there is"),  # was an OverflowError
])
def test_numbers_past_any_meaning_are_refused_in_one_line(tmp_path, args, says):
    res = cli(*args, env={"BORDERWATCH_TOKENS_FILE": str(tmp_path / "t.json"),
                          "BORDERWATCH_BROKER": f"kafka://127.0.0.1:{free_port()}",
                          "BORDERWATCH_BROKER_WAIT_SECONDS": "1"})
    assert res.returncode == 2
    (line,) = [x for x in res.stderr.splitlines() if x]
    assert line.startswith(says), line
