#!/bin/sh
# Regenerates gen/ from Curtain's contract (plugins/proto) and protos/, with
# Debian's grpc_tools (apt-get install python3-grpc-tools). The generated
# code is committed; TestPythonGeneratedCodeIsCurrent checks it.
set -eu
cd "$(dirname "$0")"
out=${1:-gen}
rm -rf "$out"
mkdir -p "$out"
/usr/bin/python3 -m grpc_tools.protoc -I ../../plugins/proto -I protos \
  --python_out="$out" --grpc_python_out="$out" \
  plugin/v1/plugin.proto counter/v1/counter.proto cache/v1/cache.proto \
  health.proto rpc_status.proto goplugin.proto
# Regular packages, so that nothing else named "plugin" or "cache" on
# sys.path shadows them.
for d in plugin plugin/v1 counter counter/v1 cache cache/v1; do
  : > "$out/$d/__init__.py"
done
