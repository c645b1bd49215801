"""Every Prometheus metric borderwatch exports, declared in one place.

A :class:`Metrics` owns its registry, so each test gets a fresh one and the
worker serves exactly these series. Labels are bounded: topics, reasons,
levels, borders and segments all come from fixed sets.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: People answer notices in minutes to days: 1 min, 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 1 d, 2 d, 1 week.
ACK_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 604800.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter("borderwatch_events", "Input events read, by topic.", ["topic"], registry=r)
        self.dead_letters = Counter("borderwatch_dead_letters", "Events sent to the dead-letter topic, by reason.",
                                    ["reason"], registry=r)
        self.produce_failures = Counter("borderwatch_produce_failures",
                                        "Messages the worker could not produce (each is dead-lettered or, for a "
                                        "dead letter, only counted here), by topic suffix.", ["topic"], registry=r)
        self.duplicates = Counter("borderwatch_duplicates_dropped", "Events dropped as duplicates of an event id.",
                                  ["topic"], registry=r)
        self.reread = Counter("borderwatch_input_reread", "Input records read again after a restart or a rebalance "
                              "and dropped as already applied (by input position, per key), by topic.",
                              ["topic"], registry=r)
        self.incidents = Counter("borderwatch_incidents", "Incidents counted into segment windows, by border.",
                                 ["border"], registry=r)
        self.non_border = Counter("borderwatch_non_border_incidents",
                                  "Interstate incidents between states that share no land border: read and counted, "
                                  "never a border alert, by pair.", ["pair"], registry=r)
        self.level = Gauge("borderwatch_segment_escalation_level",
                           "Current escalation level per segment: 0 none, 1 watch, 2 warning, 3 critical.",
                           ["segment_id", "border"], registry=r)
        # the arms race is a border's, from SIPRI deliveries, not a segment's incidents: a gauge of its
        # own, so segment alerts, dashboards and counts of segments at a level never include it
        self.arms_level = Gauge("borderwatch_arms_race_level",
                                "Current arms-race level per land border (SIPRI deliveries and orders to both "
                                "sides): 0 none, 1 watch, 2 warning.", ["border"], registry=r)
        self.alerts_opened = Counter("borderwatch_alerts_opened", "Alerts opened, by level at opening.",
                                     ["level"], registry=r)
        self.latency = Histogram("borderwatch_event_to_alert_latency_seconds",
                                 "Wall time from an event's ingest to the alert it opened or escalated.",
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.pressure = Gauge("borderwatch_militarization_pressure_tiv",
                              "SIPRI TIV (millions) delivered to both sides of a border over the trailing 5 years.",
                              ["border"], registry=r)
        # Receivers and sink types come from the policy file, so both label sets are bounded.
        self.notice_ack = Histogram("borderwatch_notice_ack_seconds",
                                    "Time from a notice's first delivery to its acknowledgement by the receiver's own desk, by receiver.",
                                    ["receiver"], buckets=ACK_BUCKETS, registry=r)
        # Kept apart from the histogram, which measures how fast a desk answers, not the centre.
        self.notice_acks_on_behalf = Counter("borderwatch_notice_acks_on_behalf",
                                             "Notices an operator or admin acknowledged on behalf of their "
                                             "receiver's desk, by receiver.", ["receiver"], registry=r)
        self.notice_deliveries = Counter("borderwatch_notice_deliveries",
                                         "Notice deliveries by sink type and outcome "
                                         "(delivered, duplicate, muted, withheld, failed).",
                                         ["sink", "outcome"], registry=r)
        self.notifier_owner = Gauge("borderwatch_notifier_owner",
                                    "1 while this worker is the one that sends notices (it holds the notifier "
                                    "topic's partition in the notifier consumer group), else 0.", registry=r)
        self.notices_pending = Gauge("borderwatch_notices_pending",
                                     "On the notifier: aggregation groups it holds plus notices queued or in "
                                     "delivery (0: nothing left to tell).", registry=r)
        self.restored_checked = Counter("borderwatch_restored_states_checked",
                                        "States of partitions this worker kept through a rebalance, checked "
                                        "against what it last wrote.", registry=r)
        self.restored_lost = Counter("borderwatch_restored_states_lost",
                                     "Of those, states the rebalance restored to other bytes than this worker "
                                     "wrote: a restore that lost writes (docs/RELIABILITY.md).", registry=r)
        self.broker_reachable = Gauge("borderwatch_broker_reachable",
                                      "0 once the broker has not answered this worker for a session timeout (no "
                                      "input is read and no alert is sent meanwhile; /health says so), else 1.",
                                      registry=r)
        self.broker_reachable.set(1)
        self.started = Gauge("borderwatch_worker_start_time_seconds",
                             "Unix time this worker process started: a change of value is a restart (an agent "
                             "failure or a stall exits for the supervisor, docs/RELIABILITY.md).", registry=r)
        self.segment_contexts = Counter("borderwatch_segment_context_lookups",
                                        "Segment evidence looked up for a notice or a segment page, by where it "
                                        "came from: table (this worker owns the segment), snapshot (another does: "
                                        "its latest alert's context), none.", ["source"], registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
