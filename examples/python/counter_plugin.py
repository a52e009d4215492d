#!/usr/bin/python3
"""A Curtain counter plugin in Python: hands out blocks of values from an
in-memory counter. Settings: {"start": N} makes the first value N+1."""

import threading

import curtain_plugin
from counter.v1 import counter_pb2, counter_pb2_grpc


class Counter(curtain_plugin.Base, counter_pb2_grpc.CounterServicer):
    NAME = "py-counter"
    KIND = "counter"
    VERSION = "0.1.0"
    SETTINGS = {"start": int}

    def __init__(self):
        self.lock = threading.Lock()
        self.value = 0

    def configure(self, settings):
        start = settings.get("start", 0)
        if start < 0:
            raise curtain_plugin.InvalidSetting("start", "%d is negative" % start)
        with self.lock:
            self.value = max(self.value, start)

    def Reserve(self, request, context):
        if request.size < 1:
            curtain_plugin.abort(context, curtain_plugin.Invalid("size %d: must be at least 1" % request.size))
        with self.lock:
            self.value = max(self.value, request.floor)
            first = self.value + 1
            self.value += request.size
        return counter_pb2.ReserveResponse(first=first, size=request.size)


if __name__ == "__main__":
    curtain_plugin.serve(Counter(), counter_pb2_grpc.add_CounterServicer_to_server)
