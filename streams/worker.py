"""``borderwatch worker``: wire settings, registry, pipeline, metrics, Faust app, feed and web."""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import os
from dataclasses import replace
from pathlib import Path

from aiohttp import web
from faust.types import TP

from alerts.borders import states_of
from alerts.notify.acks import NoticeAcks
from alerts.notify.archive import NoticeArchive, NoticeDownloads
from alerts.notify.notices import SegmentContext
from alerts.state import AlertStore
from alerts.timefmt import utcnow
from alerts.web.app import HTTP_LOG, SERVER_OPTIONS, build_web_app
from alerts.web.context import Waiting
from alerts.web.tokens import Authenticator, TokenFile, TokenFileError, configured_token
from detectors.registry import MODEL_DETECTORS, make_detector
from streams.actions import WorkerActions
from streams.app import bounded_stop_worker, build_app, close_last, join_early, processing
from streams.arms_keys import is_arms_key
from streams.broker import bind_problem
from streams.errors import ConfigError
from streams.evidence import SegmentContexts
from streams.feed import AlertFeed
from streams.log_repeats import CLIENT_LOGGERS, quiet_repeats
from streams.metrics import Metrics
from streams.models import load_model
from streams.notice_log import KafkaDeliveryLog
from streams.notify import load_worker_policy, notice_maker, notice_renderer, notice_secret, notifier_ownership
from streams.pipeline import Pipeline, PipelineSettings
from streams.segment_state import SegmentState
from streams.segments import SegmentRegistry, state_name
from streams.settings import Settings, new_token, read_secret_file
from streams.topics import Topics, ensure_topics, group_timing
from streams.worker_names import NameClaim, claim_name, hold_name, identity

#: How long a request still being served gets to finish as the worker stops (aiohttp's default:
#: 60 s, longer than the worker's whole ``stop_seconds``).
WEB_SHUTDOWN_SECONDS = 2.0


#: Said at start by a worker whose alert ids are not keyed: the default, and fine where every desk
#: is released everything, but a leak where releasability withholds an alert's opening.
UNKEYED_IDS = ("alert ids are not keyed (--alert-id-key-file / BORDERWATCH_ALERT_ID_KEY_FILE): a desk shown a "
               "later step of an alert whose opening was withheld from it can work out when the alert opened")


def build_pipeline(settings: Settings) -> Pipeline:
    registry = SegmentRegistry.with_files(settings.segment_files, max_distance_km=settings.max_distance_km)
    model = load_model(settings.model) if settings.detector in MODEL_DETECTORS else None
    try:
        detector = make_detector(settings.detector, model)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    key = read_secret_file(settings.alert_id_key_file, "alert id key", "alert_id_key_file", 16) \
        if settings.alert_id_key_file else b""
    return Pipeline(registry, detector, settings=PipelineSettings(grace_days=settings.grace_days, alert_id_key=key))


def run_worker(settings: Settings) -> int:
    from faust import Worker

    problem = bind_problem(settings.web_host, settings.web_port)
    if problem is not None:
        fix = ("it is taken: pass --web-port N or stop what uses it" if problem.errno == errno.EADDRINUSE else
               f"{problem.strerror or problem}: check --web-host / BORDERWATCH_WEB_HOST")
        raise ConfigError(f"cannot serve the web API on {settings.web_host} port {settings.web_port}: {fix}")
    try:  # the state, the notice secret and the notice files all live under it
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        # mkdir of an existing file says "File exists", which reads as if all were well
        why = "it is a file, not a directory" if Path(settings.data_dir).is_file() else exc.strerror or exc
        raise ConfigError(f"cannot make the data directory {settings.data_dir}: {why}; "
                          f"check --data-dir / BORDERWATCH_DATA_DIR") from None
    if not os.access(settings.data_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write in the data directory {settings.data_dir}; "
                          f"check its owner and mode, or --data-dir / BORDERWATCH_DATA_DIR")
    token = settings.token()
    if token:
        try:
            configured_token(token)
        except ValueError as exc:
            raise ConfigError(f"BORDERWATCH_API_TOKEN: {exc}") from None
    auth = None
    if settings.tokens_file:
        try:
            auth = Authenticator(TokenFile(settings.tokens_file))
        except TokenFileError as exc:
            raise ConfigError(str(exc)) from None
        if not Path(settings.tokens_file).exists():
            # Read as empty, so that 'token add' can make it while the worker runs; but a mistyped
            # path would otherwise lock every named desk (and, with no API token, everyone) out unsaid.
            print(f"the tokens file {settings.tokens_file} does not exist: no named token works until "
                  f"'borderwatch token add --tokens-file {settings.tokens_file}' makes it"
                  + ("" if token else ", and no API token is set: nobody can sign in meanwhile"), flush=True)
    if not token and auth is None:
        token = new_token()
        print(f"no API token configured (BORDERWATCH_API_TOKEN / BORDERWATCH_API_TOKEN_FILE); "
              f"this run's token: {token}", flush=True)
    print("worker settings: " + ", ".join(f"{k}={v}" for k, v in settings.masked().items() if v != ""), flush=True)
    pipeline = build_pipeline(settings)
    if not pipeline.settings.alert_id_key:
        print(UNKEYED_IDS, flush=True)
    policy = load_worker_policy(settings)  # fail fast on a bad policy, before joining the group
    topics = Topics(settings.topic_prefix)
    ensure_topics(settings.broker, settings.partitions, topics, timeout=settings.broker_wait_seconds)
    name_claim = None
    if settings.instance_id:  # before any group hears the name (streams.worker_names)
        name_claim = NameClaim(settings.app_id, settings.instance_id,
                               identity=identity(f"http://{settings.web_host}:{settings.web_port}"))
        asyncio.run(claim_name(name_claim, settings.broker, topics.worker_names))
    metrics = Metrics()
    metrics.started.set(utcnow().timestamp())
    pipeline.on_non_border = lambda pair: metrics.non_border.labels(pair).inc()
    app = build_app(settings, pipeline, metrics)
    store = AlertStore(keep_resolved=settings.history_keep_resolved)
    feed = AlertFeed(settings.broker, topics.alerts, metrics, store=store)
    table = app.tables["segments"]

    def names(segment_id: str) -> tuple[str, str, str]:
        """(name, place, place_ru) of a state key: a segment's from the registry; an arms-race key
        is named by its pair's states."""
        if is_arms_key(segment_id):
            return "\u2013".join(state_name(c) or c for c in states_of(pipeline.border_of(segment_id))), "", ""
        segment = pipeline.registry.get(segment_id)
        return segment.title, segment.place or "", segment.place_ru or ""

    def line_of(segment_id: str) -> tuple:
        """A segment's border line from the registry (the CAP area); none for an arms-race key."""
        return () if is_arms_key(segment_id) else pipeline.registry.get(segment_id).coords

    # Every worker follows the delivery log (notice acknowledgements on any worker's API) and the
    # segments' evidence (notices and segment pages for segments other workers own).
    notice_log = KafkaDeliveryLog(settings.broker, topics.notice_log)
    contexts = SegmentContexts(settings.broker, topics.segment_context, names)

    def owned(state: SegmentState) -> bool:
        """Whether this worker processes the segment's partition (the table also holds standby
        copies of other workers' partitions, which lag behind)."""
        try:
            return TP(topics.segment_events, state.partition) in app.assignor.assigned_actives()
        except Exception:  # noqa: BLE001 -- before the first assignment
            return False

    def segment_context(segment_id: str) -> SegmentContext | None:
        """Evidence and activity for notices: from the segment table when this worker owns the
        segment's partition, else as of the segment's latest alert transition."""
        raw = table.get(segment_id)
        state = SegmentState.decode(raw, segment_id) if raw is not None else None
        if state is None or not owned(state):
            ctx = contexts.get(segment_id)
            if ctx is not None or state is None:
                metrics.segment_contexts.labels("snapshot" if ctx is not None else "none").inc()
                return replace(ctx, line=line_of(segment_id)) if ctx is not None else None
        metrics.segment_contexts.labels("table").inc()
        border = pipeline.border_of(segment_id)  # an arms-race key: the pair's deliveries
        pair = table.get(border) if border != segment_id else None
        name, place, place_ru = names(segment_id)
        return SegmentContext.from_state(state, SegmentState.decode(pair, border) if pair else None,
                                         name=name, place=place, place_ru=place_ru, line=line_of(segment_id))

    secret = notice_secret(settings)
    acks = NoticeAcks(secret, notice_log, metrics)
    maker = notice_maker(settings, policy, secret, segment_context)
    ownership = (notifier_ownership(settings, policy, notice_log, notice_renderer(settings, maker), metrics)
                 if settings.notify else None)

    def segment_name(segment_id: str) -> str:
        try:
            return names(segment_id)[0]
        except KeyError:  # a segment of another registry: its id is all there is
            return segment_id

    def ready() -> bool | str | Waiting:
        """Partitions assigned and table state recovered: input is being processed. A string:
        why it is not and will not be (an agent failed; the process is about to exit). Waiting: why
        it cannot be for now (the broker does not answer)."""
        if app.agent_failure.reason is not None:
            return app.agent_failure.reason
        if app.broker_contact.reason is not None:
            return Waiting(app.broker_contact.reason)
        return processing(app)

    def segment_detail(segment_id: str) -> dict:
        """Recent incidents (newest first) and a daily series; the web API redacts per caller."""
        ctx = segment_context(segment_id)
        if ctx is None:
            return {"incidents": [], "daily": []}
        deaths = ctx.deaths or (0,) * len(ctx.activity)
        return {"incidents": list(reversed(ctx.incidents)),
                "daily": [{"date": d, "incidents": n, "fatalities": dead, "baseline": round(ctx.baseline, 4)}
                          for (d, n), dead in zip(ctx.activity, deaths)]}

    async def send_action(key: bytes, value: bytes) -> None:
        await (await app.alerts_topic.send(key=key, value=value))  # acknowledged by the broker

    actions = WorkerActions(policy, store, send_action, utcnow, acks)
    web_app = build_web_app(lambda: feed.history, metrics.exposition, token, segment_name, ready, auth=auth,
                            segments=pipeline.registry, subscribers=feed.subscribers, segment_detail=segment_detail,
                            actions=actions, notice_actions=actions, policy=policy,
                            notice_files=NoticeDownloads(notice_log, NoticeArchive.in_data_dir(settings.data_dir),
                                                         policy.receiver_principal, link_for=maker.link_for))

    @app.task
    async def alert_feed():
        await feed.run()

    @app.task
    async def delivery_log():
        await notice_log.run()

    @app.task
    async def segment_contexts():
        await contexts.run()

    if name_claim is not None:
        @app.task
        async def worker_name():
            await hold_name(name_claim, settings.broker, topics.worker_names)

    if ownership is not None:
        notifier_group = (settings.broker, f"{settings.app_id}-notifier", topics.notifier,
                          group_timing(settings.session_timeout, settings.instance_id))
        join_early(app, functools.partial(ownership.join, *notifier_group), ownership.leave_if_not_run)

        @app.task
        async def notifier():
            await ownership.run(*notifier_group)

    # Closed as the worker stops: the live feed's open streams end (alerts.web.live), and nothing
    # of the server is left for the loop's last turns to wait on.
    runner = web.AppRunner(web_app, shutdown_timeout=WEB_SHUTDOWN_SECONDS, **SERVER_OPTIONS)

    async def close_web() -> None:
        if runner.server is not None:  # it was set up
            await runner.cleanup()

    close_last(app, close_web)

    @app.task
    async def web_server():
        await runner.setup()
        await web.TCPSite(runner, settings.web_host, settings.web_port).start()
        base = f"http://{settings.web_host}:{settings.web_port}"
        print(f"worker web: {base}/  alerts: {base}/alerts  metrics: {base}/metrics  health: {base}/health",
              flush=True)

    logging.basicConfig(level=logging.WARNING)
    # a broker that does not answer, a client sending malformed requests: a line a minute per
    # complaint, not hundreds a second
    quiet_repeats((*CLIENT_LOGGERS, HTTP_LOG.name))
    worker = bounded_stop_worker(Worker, settings.stop_seconds)(app, loglevel=settings.log_level, quiet=True,
                                                                redirect_stdouts=False)
    # Faust's terminal spinner sets the root logger to DEBUG, so every library's debug
    # record gets built: a fifth of the worker's CPU before this line.
    worker.spinner = None
    worker.execute_from_commandline()
    return 0
