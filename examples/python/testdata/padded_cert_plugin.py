#!/usr/bin/python3
"""A broken plugin for tests: the Python counter with its handshake
certificate in padded base64 (Python's default). The host and `curtain
plugin check` must refuse it by name."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import counter_plugin  # noqa: E402
import curtain_plugin  # noqa: E402

curtain_plugin.serve(counter_plugin.Counter(), counter_plugin.counter_pb2_grpc.add_CounterServicer_to_server,
                     pad_certificate=True)
