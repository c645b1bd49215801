"""``borderwatch <verb>``: one CLI; ``--help`` on any verb is the reference.

Every worker flag has an environment variable ``BORDERWATCH_<FLAG>`` (see
``streams.settings``); flags win over the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from alerts.fsio import same_file
from borderwatch.errors import BorderwatchError
from streams.adapters import FORMAT_HELP, FORMATS
from streams.settings import (BACKTEST, PORTS, REPLAY, SEGMENTS, TRAIN, WORKER, add_setting_flags, flag_values,
                              load_settings, unknown_variables)
from streams.wording import counted


def _env(name: str) -> str:
    return f"env BORDERWATCH_{name.upper()}"


def _day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = None
    if port is None or not PORTS[0] <= port <= PORTS[1]:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port ({PORTS[0]}-{PORTS[1]})")
    return port


FORMAT_FLAG_HELP = ("the input files' format, all of them: "
                    + "; ".join(f"{name}: {what}" for name, what in FORMAT_HELP.items())
                    + ". Without it, each file is read in the format its first lines show (a header or a first "
                    "record only one format has), so MIE incidents and a SIPRI export can go in one run")


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="input files")
    p.add_argument("--format", choices=list(FORMATS), help=FORMAT_FLAG_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="borderwatch", description="Border-incident monitoring and early warning.")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = sub.add_parser("broker", help="run the embedded Kafka-protocol broker (memory only) on loopback")
    p.add_argument("--port", type=_port, default=9092, help="port to listen on (default 9092)")

    p = sub.add_parser("worker", help="run the Faust worker with its web API and /metrics")
    add_setting_flags(p, WORKER)

    p = sub.add_parser("token", help="manage API tokens with roles (stored hashed in a tokens file)")
    tsub = p.add_subparsers(dest="token_verb", required=True, metavar="ACTION")
    t = tsub.add_parser("add", help="make a token for NAME with ROLE; prints it once, stores only its hash")
    t.add_argument("--name", required=True, help="who holds it, for the audit log (e.g. kg-desk)")
    t.add_argument("--role", required=True,
                   help="operator, engineer, admin, regional-desk or secretariat:<ISO3> (e.g. secretariat:KGZ)")
    t.add_argument("--expires", help="ISO 8601 time or date it stops working (default: never)")
    t.add_argument("--days", type=int, help="or: valid for this many days")
    t = tsub.add_parser("list", help="names, roles, creation and expiry (never the hashes)")
    t.add_argument("--json", action="store_true", help="print JSON instead of a table")
    t = tsub.add_parser("revoke", help="delete the token of NAME")
    t.add_argument("--name", required=True, help="the token's name")
    for t in tsub.choices.values():
        t.add_argument("--tokens-file", help=f"the tokens file ({_env('tokens_file')})")

    p = sub.add_parser("replay", help="produce a historical file into Kafka in event-time order")
    _add_format(p)
    add_setting_flags(p, REPLAY)
    p.add_argument("--speed", default="max", help="'max' (default) or N event-seconds per wall second, e.g. 86400 = a day a second")

    from detectors.field_rules import FIELD_RULES

    p = sub.add_parser("backtest", help="run the pipeline (or one of the field's rules) in-process over files "
                                        "and write alerts.csv",
                       description="Run the worker's pipeline in-process over files and write alerts.csv; with "
                                   "--labels, score the alerts by the field's reference rules (early = an alert "
                                   "1-60 days before onset, same-day = timely; docs/DETECTION.md).")
    _add_format(p)
    p.add_argument("--alerts-out", required=True, help="alerts CSV to write (- for stdout)")
    p.add_argument("--labels", help="labelled episodes CSV (episode_id,border,start,end,kind): print the scores per "
                                    "border and overall, ending with the reference scorer's REAL line")
    p.add_argument("--coverage-end", type=_day, metavar="YYYY-MM-DD",
                   help="last day the data covers: each border is scored from its first incident to this day, and a "
                        "field rule looks no further (default: the input's last incident day; MIE 1.0 covers "
                        "to 2014-12-31)")
    p.add_argument("--borders", metavar="B1,B2,...",
                   help="with --labels or --report: score and draw only these borders (sorted ISO3 pairs; default: the "
                        "borders of the escalation labels and every border with incidents)")
    p.add_argument("--evaluation-json", metavar="FILE",
                   help="with --labels: also write everything the evaluation found (per episode too) as JSON")
    p.add_argument("--report", help="HTML report to write: per-border timelines of incidents, scores, thresholds, "
                                    "alerts and labelled episodes (self-contained, no scripts)")
    who = p.add_mutually_exclusive_group()
    add_setting_flags(p, BACKTEST, groups={"detector": who})
    who.add_argument("--field-rule", choices=tuple(FIELD_RULES), metavar="RULE",
                     help="instead of the pipeline, write the alerts of one of the field's simple rules, computed "
                          "as the reference does (severity read as MIE hostility): "
                          + "; ".join(f"{r.name}: {r.description}" for r in FIELD_RULES.values()))

    from streams.training import DEFAULT_C, DEFAULT_LEVELS

    p = sub.add_parser("train", help="fit the deadly-clash hazard model across labelled borders and write it")
    p.add_argument("--input", nargs="+", required=True, metavar="FILE", help="incident files")
    p.add_argument("--format", choices=list(FORMATS), help=FORMAT_FLAG_HELP)
    p.add_argument("--labels", required=True, help="labelled episodes CSV (episode_id,border,start,end,kind)")
    p.add_argument("--out", required=True, help="model file to write (JSON); load it with --model or BORDERWATCH_MODEL")
    for level, default in DEFAULT_LEVELS.items():
        p.add_argument(f"--{level}", type=float, default=default,
                       help=f"lowest chance of a deadly clash within 60 days that is a {level} (default {default:g})")
    add_setting_flags(p, TRAIN)
    p.add_argument("--no-pooling", action="store_true",
                   help="one intercept for every border instead of partially pooled border intercepts")
    p.add_argument("--c", type=float, default=DEFAULT_C, metavar="C",
                   help=f"inverse strength of the L2 penalty (scikit-learn's C; default {DEFAULT_C:g}; smaller is "
                        "a simpler model)")
    p.add_argument("--cross-validate", action="store_true",
                   help="also print the forecast's skill on borders each fit never saw: one border held out at a "
                        "time, and borders that share a state held out together (log-loss, AUC, Brier)")

    p = sub.add_parser("score", help="score a univariate timestamp,value CSV (streaming, causal)")
    p.add_argument("--detector", default="default", help="univariate detector (default: default; see --list)")
    p.add_argument("input_file", nargs="?", metavar="FILE", help="the CSV to score (or --input FILE)")
    p.add_argument("--input", help="CSV with columns timestamp,value (ISO 8601 or epoch seconds, in time order)")
    p.add_argument("--output", default="-",
                   help="CSV to write: timestamp,value,anomaly_score (default -: standard output)")
    p.add_argument("--list", action="store_true", help="list the detectors and exit")

    p = sub.add_parser("generate", help="write a seeded synthetic labelled stream (JSONL + labels CSV)")
    from streams.generate import SCENARIOS

    p.add_argument("--scenario", required=True, metavar="NAME",
                   help="; ".join(f"{k}: {v.doc}" for k, v in SCENARIOS.items()) + " (see docs/DETECTION.md)")
    p.add_argument("--out", required=True, help="JSONL to write; labels go to <name>.labels.csv beside it")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same bytes")

    from streams.segments import TARGET_SEGMENT_KM

    p = sub.add_parser("segments", help="list border segments: id, border, length in km, name; "
                                        "'segments build' cuts any land border into a segment file")
    add_setting_flags(p, SEGMENTS)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    build = p.add_subparsers(dest="segments_verb", metavar="build").add_parser(
        "build", help="cut land borders from the bundled lines into a segment file for --segments-file",
        description="Cut land borders into segments of about --km km with stable ids (IND-PAK-01, ...) and write "
                    "them as a segment file. Central Asian borders are cut from their 1:10m file (the bundled "
                    "segments), every other border from the bundled world lines.")
    which = build.add_mutually_exclusive_group(required=True)
    which.add_argument("--pair", metavar="AAA-BBB", help="one land border, two ISO3 codes, e.g. IND-PAK")
    which.add_argument("--country", metavar="ISO3", help="every land border of this state that has a line, e.g. KGZ")
    build.add_argument("--km", default=str(TARGET_SEGMENT_KM),
                       help=f"length of the pieces to aim at, in km (default {TARGET_SEGMENT_KM:g})")
    build.add_argument("--out", required=True, metavar="FILE", help="segment file (GeoJSON) to write")

    policy_help = ("alerting policy YAML (default: env BORDERWATCH_POLICY_FILE, as the worker reads it, else the "
                   "bundled deploy/borderwatch/policy.yml)")
    p = sub.add_parser("check-config", help="validate the alerting policy file and print a one-line summary")
    p.add_argument("--policy", help=policy_help)
    p = sub.add_parser("routes", help="alerting policy routes (see 'routes test')")
    p_test = p.add_subparsers(dest="routes_verb", required=True, metavar="test").add_parser(
        "test", help="print the receivers an alert with these labels would reach (like amtool config routes test)")
    p_test.add_argument("--policy", help=policy_help)
    p_test.add_argument("labels", nargs="+", metavar="LABEL=VALUE",
                        help="alert labels, e.g. border=KGZ-TJK level=critical releasable_to=KGZ")

    p = sub.add_parser("schema", help="print the JSON Schema of an input record")
    p.add_argument("kind", choices=("incident", "arms-transfer"))
    return parser


#: Exit status when the reader of our output went away (``| head``): a shell's 128 + SIGPIPE, as
#: Unix tools killed by the signal report it.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for line in unknown_variables(os.environ):
        print(f"borderwatch {args.verb}: warning: {line}", file=sys.stderr)
    try:
        code = _run(args)
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at interpreter exit
        return code
    except BrokenPipeError:
        # Quietly, as Unix tools do; stdout goes to /dev/null so the exit's own flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except BorderwatchError as exc:
        print(f"borderwatch {args.verb}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.verb == "broker":
        from streams.broker import serve_forever

        return serve_forever(args.port)

    if args.verb in ("check-config", "routes"):
        return _policy_verb(args)

    if args.verb == "schema":
        from streams.records import json_schema

        print(json.dumps(json_schema(args.kind), indent=2))
        return 0

    if args.verb == "score":
        from detectors.univariate import DEFAULT_UNIVARIATE, UNIVARIATE, make_univariate
        from streams.scoring import score_csv

        if args.list:
            for name, cls in sorted(UNIVARIATE.items()):
                mark = " (default)" if name == DEFAULT_UNIVARIATE else ""
                print(f"{name}{mark}: {cls.__doc__.strip().splitlines()[0]}")
            return 0
        if args.input and args.input_file:
            print("borderwatch score: error: name the CSV once: FILE or --input FILE", file=sys.stderr)
            return 2
        args.input = args.input or args.input_file
        if not args.input:
            print("borderwatch score: error: a CSV to score is required: FILE or --input FILE (or --list)",
                  file=sys.stderr)
            return 2
        try:
            detector = make_univariate(args.detector)
        except ValueError as exc:
            print(f"borderwatch score: error: {exc}", file=sys.stderr)
            return 2
        n = score_csv(args.input, args.output, detector)
        where = "standard output" if args.output == "-" else args.output
        print(f"scored {counted(n, 'row')} with {detector.name} -> {where}", file=sys.stderr)
        return 0

    if args.verb == "generate":
        from streams.generate import labels_path_for, write

        try:
            n, episodes = write(args.scenario, args.out, args.seed)
        except ValueError as exc:
            print(f"borderwatch generate: error: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"borderwatch generate: error: {exc.filename or args.out}: cannot write: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
        print(f"wrote {counted(n, 'record')} to {args.out} and {counted(episodes, 'episode')} to {labels_path_for(args.out)}")
        return 0

    if args.verb == "segments":
        from streams.segments import SegmentRegistry, render_table

        if args.segments_verb == "build":
            return _segments_build(args)
        settings = load_settings(flag_values(args, SEGMENTS))
        reg = SegmentRegistry.with_files(settings.segment_files, max_distance_km=settings.max_distance_km)
        if args.json:
            print(json.dumps([{"segment_id": s.segment_id, "border": s.border, "length_km": round(s.length_km, 1),
                               "name": s.name, "place": s.place, "place_ru": s.place_ru} for s in reg.segments()],
                              indent=1, ensure_ascii=False))
        else:
            print(render_table(reg))
        return 0

    if args.verb == "token":
        return _token(args)

    if args.verb == "worker":
        from streams.worker import run_worker

        return run_worker(load_settings(flag_values(args, WORKER)))

    if args.verb == "replay":
        from streams.replay import parse_speed, replay

        try:
            speed = parse_speed(args.speed)
        except ValueError as exc:
            print(f"borderwatch replay: error: {exc}", file=sys.stderr)
            return 2
        from streams.topics import Topics

        settings = load_settings(flag_values(args, REPLAY))
        res = replay(args.files, args.format, settings.broker, speed=speed, partitions=settings.partitions,
                     topics=Topics(settings.topic_prefix), broker_wait=settings.broker_wait_seconds)
        if args.format is None:
            from streams.adapters import told_text

            print(f"format told from the first lines: {told_text(res.formats)}")
        print(f"replay done: sent {res.sent}, rejected {res.rejected}{res.out_of_scope} in {res.seconds:.1f}s "
              f"to {settings.broker}")
        return 0

    if args.verb == "train":
        return _train(args)

    if args.verb == "backtest":
        return _backtest(args)
    raise AssertionError(args.verb)


def _train(args: argparse.Namespace) -> int:
    from detectors.hazard import ModelError
    from streams.errors import ConfigError
    from streams.segments import SegmentRegistry
    from streams.training import DEFAULT_LEVELS, fit, thin_data_warning, training_rows

    settings = load_settings(flag_values(args, TRAIN))
    registry = SegmentRegistry.with_files(settings.segment_files, max_distance_km=settings.max_distance_km)
    levels = {level: getattr(args, level) for level in DEFAULT_LEVELS}
    if not args.c > 0:
        raise ConfigError(f"--c must be above 0, got {args.c:g}")
    from streams.adapters import load, rejection_lines, require_records

    # What cannot be read is said as backtest says it: a model trained on part of the input
    # without a word (only the file's rejected_rows counted it), or "no incidents were loaded"
    # for a CSV given as --format jsonl, left the engineer guessing.
    loaded = load(args.input, args.format)
    for line in rejection_lines(loaded.records, loaded.errors):
        print(line, file=sys.stderr)
    require_records(loaded.records, loaded.errors, args.input, args.format)
    try:
        rows, meta = training_rows(args.input, args.format, args.labels, registry=registry,
                                   grace_days=settings.grace_days, loaded=loaded)
        model = fit(rows, levels=levels, C=args.c, pool=not args.no_pooling, training=meta)
    except (ModelError, ValueError) as exc:
        raise ConfigError(f"cannot train: {exc}") from None
    try:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(model.to_json())
    except OSError as exc:
        raise ConfigError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    t = model.training
    print(f"train: {t['rows']} incident days on {len(t['borders'])} borders, {t['positive_rows']} within 60 days "
          f"before an onset; border spread {model.border_sd:.2f} (log-odds); model {model.digest[:16]} -> {args.out}")
    thin = thin_data_warning(model)
    if thin:
        print(f"train: warning: {thin}", file=sys.stderr)
    if args.cross_validate:
        _print_forecast_skill(rows, model, C=args.c, pool=not args.no_pooling)
    return 0


def _print_forecast_skill(rows, model, *, C: float, pool: bool) -> None:
    from streams.crossval import forecast_skill

    skills = forecast_skill(rows, model, C=C, pool=pool)
    said = {"none": "in-sample", "border": "one border held out at a time", "state": "borders sharing a state held out"}
    print("forecast skill on the training days (lower log-loss and Brier, higher AUC are better; held out = "
          "scored by a fit that never saw the border):")
    print(f"  {'':34s} {'folds':>5s} {'days':>6s} {'log-loss':>8s} {'AUC':>6s} {'Brier':>7s}")
    for k in skills:
        if k.unavailable is not None:
            print(f"  {said[k.held_out]:34s} {k.folds:>5} not scored: {k.unavailable}")
            continue
        auc = f"{k.auc:.3f}" if k.auc is not None else "-"
        print(f"  {said[k.held_out]:34s} {k.folds or '-':>5} {k.days:>6d} {k.log_loss:>8.4f} {auc:>6s} {k.brier:>7.4f}")


def _segments_build(args: argparse.Namespace) -> int:
    """``segments build``: cut land borders into a segment file; a bad flag is one line naming it."""
    from alerts.borders import PAIR, border_id
    from streams.errors import ConfigError
    from streams.segments import WorldBorders, build_segments, land_neighbours, segment_file, segment_km, state_name

    try:
        km = segment_km(float(args.km), "--km")
    except ValueError:
        raise ConfigError(f"--km must be a positive number of km, got {args.km!r}") from None
    world = WorldBorders.bundled()
    if args.pair is not None:
        m = PAIR.fullmatch(args.pair.strip().upper())
        if not m or m.group(1) == m.group(2) or not (state_name(m.group(1)) and state_name(m.group(2))):
            raise ConfigError(f"--pair {args.pair}: not a pair of two states' ISO3 codes; write e.g. IND-PAK")
        a, b = m.groups()
        border = border_id(a, b)
        if border not in world.lines:
            why = ("a land border, but its line is not in the bundled lines (streams/data/SOURCES.md, what is skipped)"
                   if b in land_neighbours(a) else "not a land border")
            raise ConfigError(f"--pair {args.pair}: {why}; nothing to cut")
        borders = [border]
    else:
        iso3 = args.country.strip().upper()
        if not state_name(iso3):
            raise ConfigError(f"--country {args.country}: not a state's ISO3 code; write e.g. KGZ")
        borders = world.pairs_with(iso3)
        if not borders:
            raise ConfigError(f"--country {args.country}: no land border with a line; nothing to cut")
    segments = build_segments(borders, km)
    try:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(segment_file(segments), fh, ensure_ascii=False)
    except OSError as exc:
        raise ConfigError(f"--out {args.out}: cannot write: {exc.strerror or exc}") from None
    print(f"segments build: {len(segments)} segments on {len(borders)} border{'s' * (len(borders) != 1)} "
          f"({', '.join(borders)}) -> {args.out}", file=sys.stderr)
    return 0


def _token(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from alerts.timefmt import parse_time, utcnow
    from alerts.web.tokens import TokenFile, TokenFileError
    from streams.segments import state_name

    path = load_settings({"tokens_file": args.tokens_file}).tokens_file
    if not path:
        print("borderwatch token: error: say which tokens file: --tokens-file F or BORDERWATCH_TOKENS_FILE",
              file=sys.stderr)
        return 2
    tokens = TokenFile(path)
    try:
        if args.token_verb == "add":
            if args.expires and args.days is not None:
                raise TokenFileError("give --expires or --days, not both")
            now = utcnow()
            expires = None
            if args.days is not None:
                try:
                    expires = now + timedelta(days=args.days)
                except OverflowError:  # past year 9999, or more days than a timedelta holds
                    raise TokenFileError(f"--days {args.days} is past the last date there is; use fewer days, "
                                         f"or leave out --days and --expires for a token that never expires") from None
            elif args.expires:
                try:
                    expires = parse_time(args.expires)
                except ValueError:
                    raise TokenFileError(f"--expires {args.expires!r} is not an ISO 8601 time or date") from None
            base, _, country = args.role.partition(":")
            if base == "secretariat" and country and state_name(country) is None:
                # the role's syntax is the tokens file's to check; that a code names a state is the gazetteer's
                raise TokenFileError(f"role {args.role!r}: {country} is no state's ISO3 code (Kyrgyzstan's is KGZ)")
            token = tokens.add(args.name, args.role, expires, now=now)
            print(token)
            print(f"token for {args.name} ({args.role}) stored hashed in {path}; this is the only time it is shown",
                  file=sys.stderr)
            return 0
        if args.token_verb == "revoke":
            if not tokens.revoke(args.name):
                print(f"borderwatch token: error: no token named {args.name!r} in {path}", file=sys.stderr)
                return 2
            print(f"revoked {args.name}", file=sys.stderr)
            return 0
        entries = [e.public() for e in tokens.read()]
    except TokenFileError as exc:
        print(f"borderwatch token: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(entries, indent=1))
    else:
        print(f"{'name':<24} {'role':<20} {'created':<21} expires")
        for e in entries:
            print(f"{e['name']:<24} {e['role']:<20} {e['created']:<21} {e['expires'] or 'never'}")
    return 0


def _policy_verb(args: argparse.Namespace) -> int:
    from alerts.policy import PolicyError, complete_labels, load_policy

    path = load_settings({"policy_file": args.policy}).policy_file  # the file the worker would load
    try:
        policy = load_policy(path or None)
    except PolicyError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 1
    if args.verb == "check-config":
        print(policy.summary())
        return 0
    pairs = [a.partition("=") for a in args.labels]
    bad = [a for a, eq, _ in pairs if not eq]
    try:
        if bad:
            raise ValueError(f"{bad[0]!r} is not LABEL=VALUE")
        labels = complete_labels({k: v.strip('"') for k, _, v in pairs})
    except ValueError as exc:
        print(f"borderwatch routes test: error: {exc}", file=sys.stderr)
        return 2
    reached = policy.receivers_for(labels)
    alert = {"countries": labels["countries"].split(","),
             "releasable_to": [c for c in labels["releasable_to"].split(",") if c]}
    withheld = [r for r in reached if r not in policy.notified(labels, alert)]
    print(",".join(r for r in reached if r not in withheld))
    if withheld:
        print(f"withheld by releasability: {','.join(withheld)}")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from alerts.borders import normalise_border
    from alerts.evaluation.scoring import real_line, report_lines
    from alerts.history import write_csv
    from streams.labels import read_labels

    # Flags that only shape the scoring or the report would otherwise be dropped without a word. A
    # note, not a refusal: a script that passes one of them always (the reference comparison passes
    # extra flags through) still gets its alerts.
    for flag, used, needed, without in (
            ("--evaluation-json", args.evaluation_json, args.labels,
             "--labels: it writes the evaluation against labelled episodes"),
            ("--coverage-end", args.coverage_end, args.labels or args.field_rule,
             "--labels or --field-rule: it ends the spans they read"),
            ("--borders", args.borders, args.labels or args.report,
             "--labels or --report: it chooses the borders to score or to draw (alerts.csv always holds every "
             "border)")):
        if used and not needed:
            print(f"borderwatch backtest: note: {flag} does nothing without {without}", file=sys.stderr)
    for flag, out in (("--alerts-out", args.alerts_out), ("--evaluation-json", args.evaluation_json),
                      ("--report", args.report)):
        if out and out != "-" and any(same_file(out, f) for f in args.files):
            print(f"borderwatch backtest: error: {flag} {out} is an input file: it would be overwritten",
                  file=sys.stderr)
            return 2
    labels = read_labels(args.labels) if args.labels else None  # a bad labels file fails before the run
    scope = sorted({normalise_border(b) for b in args.borders.split(",") if b.strip()}) if args.borders else None
    if args.field_rule:
        from streams.adapters import load
        from streams.backtest import field_rule_rows

        loaded = load(args.files, args.format)
        records, rejected, res, pipeline, told = loaded.records, loaded.errors, None, None, loaded.formats
        out_of_scope = loaded.out_of_scope_text()
        rows = field_rule_rows(records, args.field_rule, args.coverage_end)
    else:
        from streams.backtest import run_backtest
        from streams.worker import build_pipeline

        settings = load_settings(flag_values(args, BACKTEST))
        pipeline = build_pipeline(settings)
        res = run_backtest(args.files, args.format, pipeline, trace=bool(args.report))
        records, rejected, rows, told = res.records_seen, res.rejected, res.history.rows(), res.formats
        out_of_scope = res.out_of_scope
        if res.non_border:
            pairs = ", ".join(f"{p} {n}" for p, n in sorted(res.non_border.items()))
            out_of_scope += f", {sum(res.non_border.values())} between states with no land border ({pairs})"
    from streams.adapters import rejection_lines, require_records, told_text

    for line in rejection_lines(records, rejected):
        print(line, file=sys.stderr)
    require_records(records, rejected, args.files, args.format)
    if args.alerts_out == "-":
        write_csv(rows, sys.stdout)
    else:
        _write(args.alerts_out, lambda fh: write_csv(rows, fh))
    evaluation = None
    if labels is not None:
        evaluation = _evaluate(args, records, rows, labels, scope)
        out = sys.stderr if args.alerts_out == "-" else sys.stdout
        print("\n".join([*report_lines(evaluation), real_line(evaluation.figures())]), file=out)
        if args.evaluation_json:
            _write(args.evaluation_json, lambda fh: json.dump(evaluation.as_json(), fh, indent=1))
    if args.report:
        _write_report(args, res, pipeline, records, rows, labels or [], evaluation, scope)
    by_level: dict[str, int] = {}
    for r in rows:
        by_level[r["level"]] = by_level.get(r["level"], 0) + 1
    rule = f", field rule {args.field_rule}" if args.field_rule else ""
    dropped = ""
    if res is not None and res.duplicates:
        dropped += f", {res.duplicates} dropped as repeats of an event_id seen before"
    if res is not None and res.dead_letters:
        dropped += f", {res.dead_letters} dead letters (invalid, or later than the grace)"
    if args.format is None and told:
        print(f"format told from the first lines: {told_text(told)}", file=sys.stderr)
    print(f"backtest: {counted(len(records), 'record')} ({len(rejected)} rejected{out_of_scope}{dropped}){rule}, "
          f"{counted(len(rows), 'alert')} {json.dumps(by_level, sort_keys=True)} -> {args.alerts_out}", file=sys.stderr)
    return 0


def _write(path: str, write) -> None:
    from streams.errors import SourceRowError

    try:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            write(fh)
    except OSError as exc:
        raise SourceRowError(path, 0, None, f"cannot write: {exc.strerror or exc}") from None


def _evaluate(args: argparse.Namespace, records, rows: list[dict], labels: list[dict], scope):
    """The evaluation; what the scorer cannot use is reported against the file or flag it came from."""
    from alerts.evaluation.scoring import ScoringInputError
    from streams.backtest import evaluate_records
    from streams.errors import ConfigError, SourceRowError

    try:
        return evaluate_records(records, rows, labels, coverage_end=args.coverage_end, scope=scope)
    except ScoringInputError as exc:
        if exc.source == "labels":
            raise SourceRowError(args.labels, exc.row + 1, exc.field, exc.reason) from None
        if exc.source == "alerts":
            raise SourceRowError(args.alerts_out, exc.row + 1, exc.field, exc.reason) from None
        if exc.source == "coverage":
            raise ConfigError(f"--coverage-end {args.coverage_end}: {exc.reason}") from None
        if exc.source == "scope":
            raise ConfigError(f"--borders: {exc.reason}") from None
        raise SourceRowError(args.files[0], 0, None, exc.reason) from None


def _write_report(args: argparse.Namespace, res, pipeline, records, rows, labels: list[dict], evaluation,
                  scope) -> None:
    from pathlib import Path

    from streams.backtest import field_rule_report_html, report_html
    from streams.errors import SourceRowError

    names = ", ".join(Path(f).name for f in args.files)
    try:
        if args.field_rule:
            page = field_rule_report_html(records, rows, args.field_rule, labels=labels, evaluation=evaluation,
                                          title=f"borderwatch backtest: {names}, field rule {args.field_rule}",
                                          borders=scope)
        else:
            page = report_html(res, pipeline, title=f"borderwatch backtest: {names}", labels=labels,
                               evaluation=evaluation, borders=scope)
    except ValueError as exc:
        raise SourceRowError(args.files[0], 0, None, str(exc)) from None
    _write(args.report, lambda fh: fh.write(page))
    print(f"report: {args.report}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
