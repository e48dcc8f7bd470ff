"""ZMQ streaming of frames and live labels: the public names of the ``hil.stream_*`` modules, in one place.

A publisher sends each process's frames; labellers, each serving a share of the processes, step an ONNX model
over them and publish a label per frame; watchers show the labels and, once a stream ends, what was lost and
where. Import from here (``from hil.stream import Labeller``); the modules that do the work, one job each:

- :mod:`hil.stream_wire` — the wire format: messages (encode, decode and check), routing of a process to its
  shard (:func:`shard_of`), loopback-only binding;
- :mod:`hil.stream_publisher` — the publishing end: :class:`FramePublisher` (no silent loss, and the
  accounting of what the labellers acknowledged), :func:`publish_process`, :class:`Pacer`;
- :mod:`hil.stream_labeller` — :class:`Labeller`, its per-process state and its statistics;
- :mod:`hil.stream_receiver` — :class:`Receiver`, how the labeller and the watchers read their sockets;
- :mod:`hil.stream_watch` — the watching end: :func:`watch`, :class:`LabelTally`, :class:`LabelLog` and
  :class:`StreamAudit` (a stream's losses, from the labellers' reports).
"""

from __future__ import annotations

from hil.stream_labeller import (ACK_EVERY_S, ENDED_KEPT, HEARTBEAT_S, MISSING_KEPT, REPORT_PARTS_KEPT, Labeller,
                                 LabellerStats, ProcessRecord, ProcessState)
from hil.stream_publisher import Accounting, FramePublisher, LabellerSeen, Pacer, StreamStalled, publish_process
from hil.stream_receiver import SPIN_BACKOFF_S, SPIN_PREEMPTED_S, Receiver
from hil.stream_watch import (COLUMNS, GATHERED_KEPT, STREAMS_KEPT, TRACKED_KEPT, LabelLog, LabelTally, ProcessLoss,
                              StreamAudit, StreamLoss, watch)
from hil.stream_wire import (ACK, ACK_ENTRIES, ERRORS_KEPT, HELLO, KINDS_IN, KINDS_OUT, MAX_HEADER, MAX_LIST_BYTES,
                             MAX_PARTS, MAX_PROCESS_ID, MAX_SEQ, MAX_STREAM_ID, MAX_UPSTREAM, REPORT_FIELDS, SCHEMA,
                             SHARDS, SUMMARY_PART, SUMMARY_TOPIC, check_loopback, decode, decode_upstream, encode_end,
                             encode_frame, encode_summary, shard_of, topic_of)

__all__ = [
    # hil.stream_wire
    "SCHEMA", "SHARDS", "ERRORS_KEPT", "MAX_HEADER", "MAX_SEQ", "MAX_PROCESS_ID", "MAX_STREAM_ID", "KINDS_IN",
    "KINDS_OUT", "SUMMARY_TOPIC", "SUMMARY_PART", "MAX_PARTS", "MAX_LIST_BYTES", "REPORT_FIELDS", "HELLO", "ACK",
    "MAX_UPSTREAM", "ACK_ENTRIES", "shard_of", "topic_of", "check_loopback", "encode_frame", "encode_end",
    "encode_summary", "decode", "decode_upstream",
    # hil.stream_publisher
    "StreamStalled", "LabellerSeen", "Accounting", "FramePublisher", "Pacer", "publish_process",
    # hil.stream_labeller
    "HEARTBEAT_S", "ACK_EVERY_S", "MISSING_KEPT", "ENDED_KEPT", "REPORT_PARTS_KEPT", "ProcessState",
    "ProcessRecord", "LabellerStats", "Labeller",
    # hil.stream_receiver
    "SPIN_PREEMPTED_S", "SPIN_BACKOFF_S", "Receiver",
    # hil.stream_watch
    "LabelTally", "LabelLog", "watch", "ProcessLoss", "COLUMNS", "StreamLoss", "TRACKED_KEPT", "STREAMS_KEPT",
    "GATHERED_KEPT", "StreamAudit",
]
