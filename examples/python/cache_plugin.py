#!/usr/bin/python3
"""A Curtain cache plugin in Python: values in a dict, each with its own
expiry (none for a zero or negative TTL). It takes no settings."""

import threading
import time

import curtain_plugin
from cache.v1 import cache_pb2, cache_pb2_grpc


class Cache(curtain_plugin.Base, cache_pb2_grpc.CacheServicer):
    NAME = "py-cache"
    KIND = "cache"
    VERSION = "0.1.0"

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = {}  # key -> (value, expiry in time.monotonic() or None)

    def Get(self, request, context):
        now = time.monotonic()
        found = {}
        with self.lock:
            for key in request.keys:
                entry = self.entries.get(key)
                if entry is None:
                    continue
                value, expiry = entry
                if expiry is not None and expiry <= now:
                    del self.entries[key]
                    continue
                found[key] = value
        return cache_pb2.GetResponse(entries=found)

    def Set(self, request, context):
        now = time.monotonic()
        with self.lock:
            for e in request.entries:  # in order: the last entry of a key wins
                ttl = e.ttl.seconds + e.ttl.nanos / 1e9 if e.HasField("ttl") else 0
                self.entries[e.key] = (e.value, now + ttl if ttl > 0 else None)
        return cache_pb2.SetResponse()

    def Delete(self, request, context):
        with self.lock:
            for key in request.keys:
                self.entries.pop(key, None)
        return cache_pb2.DeleteResponse()


if __name__ == "__main__":
    curtain_plugin.serve(Cache(), cache_pb2_grpc.add_CacheServicer_to_server)
