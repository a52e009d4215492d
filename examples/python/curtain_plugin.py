"""Serve a Curtain plugin from Python: the handshake, mutual TLS, the
health service, Info and Configure, logs and shutdown, as docs/plugins.md
describes them. A plugin module builds a servicer for its kind and calls
serve(); see counter_plugin.py and cache_plugin.py.

Needs Debian's python3-grpcio and python3-cryptography (run with
/usr/bin/python3).
"""

import base64
import datetime
import json
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent import futures

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402
from google.protobuf import any_pb2  # noqa: E402

import goplugin_pb2  # noqa: E402
import goplugin_pb2_grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
import rpc_status_pb2  # noqa: E402
from plugin.v1 import plugin_pb2  # noqa: E402

MAGIC_COOKIE_KEY = "CURTAIN_PLUGIN"
MAGIC_COOKIE_VALUE = "3c0e7a5e-curtain-backend-plugin"
CONTRACT_VERSION = 1
HEALTH_SERVICE = "plugin"

_LEVELS = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "error": 4}
_min_level = _LEVELS.get(os.environ.get("CURTAIN_PLUGIN_LOG_LEVEL", "info"), 2)


def log(level, message, **fields):
    """Write one log line on stderr in the JSON form the host parses."""
    if _LEVELS.get(level, 2) < _min_level:
        return
    line = {"@level": level, "@message": message,
            # The host ignores @timestamp (its own line has the time); it
            # is there for whoever reads the plugin's stderr directly.
            "@timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")}
    line.update(fields)
    sys.stderr.write(json.dumps(line) + "\n")
    sys.stderr.flush()


class InvalidSetting(Exception):
    """A bad setting: Configure answers INVALID_ARGUMENT naming the key."""

    def __init__(self, key, message):
        super().__init__("setting %s: %s" % (key, message))
        self.key = key


class Invalid(Exception):
    """A request the plugin rejects: INVALID_ARGUMENT (core.ErrInvalid)."""


class Unavailable(Exception):
    """The backing service cannot be reached: UNAVAILABLE."""


def abort(context, err):
    """End an RPC with the status code that stands for err."""
    if isinstance(err, InvalidSetting):
        detail = any_pb2.Any()
        detail.Pack(rpc_status_pb2.BadRequest(field_violations=[
            rpc_status_pb2.BadRequest.FieldViolation(field=err.key, description=str(err))]))
        st = rpc_status_pb2.Status(code=grpc.StatusCode.INVALID_ARGUMENT.value[0],
                                   message=str(err), details=[detail])
        context.set_trailing_metadata((("grpc-status-details-bin", st.SerializeToString()),))
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
    if isinstance(err, Invalid):
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
    if isinstance(err, Unavailable):
        context.abort(grpc.StatusCode.UNAVAILABLE, str(err))
    log("error", "call failed", error=repr(err))
    context.abort(grpc.StatusCode.INTERNAL, str(err))


def decode_settings(raw, known):
    """Decode the settings JSON object; known maps each key to its type.
    Unknown keys and wrong types are InvalidSetting errors."""
    if not raw.strip():
        return {}
    try:
        settings = json.loads(raw)
    except ValueError as e:
        raise InvalidSetting("settings", "not JSON: %s" % e)
    if not isinstance(settings, dict):
        raise InvalidSetting("settings", "not a JSON object")
    for key, value in settings.items():
        if key not in known:
            raise InvalidSetting(key, "unknown key; known keys are %s" % (", ".join(sorted(known)) or "none"))
        want = known[key]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise InvalidSetting(key, "a JSON %s is not a %s" % (type(value).__name__, want.__name__))
    return settings


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def settings_schema(known):
    """The JSON Schema Info publishes for settings whose keys and types
    known lists ("" for none)."""
    if not known:
        return ""
    return json.dumps({"type": "object", "additionalProperties": False,
                       "properties": {k: {"type": _JSON_TYPES[t]} for k, t in sorted(known.items())}},
                      sort_keys=True, separators=(",", ":"))


class Base:
    """Info and Configure, shared by every kind's servicer. A subclass sets
    NAME, KIND, VERSION and SETTINGS (key -> type) and implements
    configure(settings)."""

    NAME = ""
    KIND = ""
    VERSION = "0.0.0"
    SETTINGS = {}

    def Info(self, request, context):
        caps = ["configure"] if self.SETTINGS else []
        return plugin_pb2.InfoResponse(name=self.NAME, kind=self.KIND, version=self.VERSION,
                                       contract_version=CONTRACT_VERSION, capabilities=caps,
                                       settings_schema=settings_schema(self.SETTINGS))

    def Configure(self, request, context):
        try:
            self.configure(decode_settings(request.settings_json.decode("utf-8"), self.SETTINGS))
        except Exception as e:  # noqa: BLE001 - every error becomes a status
            abort(context, e)
        return plugin_pb2.ConfigureResponse()

    def configure(self, settings):
        pass

    def healthy(self):
        """Report whether the backing service works (True: SERVING)."""
        return True


class _Health(health_pb2_grpc.HealthServicer):
    def __init__(self, impl):
        self.impl = impl

    def Check(self, request, context):
        if request.service not in ("", HEALTH_SERVICE):
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service %r" % request.service)
        ok = self.impl.healthy()
        return health_pb2.HealthCheckResponse(
            status=health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING)


class _Controller(goplugin_pb2_grpc.GRPCControllerServicer):
    def __init__(self, stop):
        self.stop = stop

    def Shutdown(self, request, context):
        threading.Thread(target=self.stop, args=("the host asked",), daemon=True).start()
        return goplugin_pb2.Empty()


def _certificate():
    """A self-signed certificate for "localhost", as go-plugin makes one:
    returns (key PEM, certificate PEM, certificate DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Curtain plugin")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(seconds=30))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, key_cert_sign=True,
                                         content_commitment=False, data_encipherment=False, key_agreement=True,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM), cert.public_bytes(serialization.Encoding.DER)


def serve(impl, add_servicer, pad_certificate=False):
    """Serve impl (a Base subclass instance) with add_servicer (the kind's
    generated add_XServicer_to_server) until the host stops the plugin,
    SIGTERM arrives or the host process is gone. pad_certificate breaks
    the handshake on purpose (for tests of the host's error)."""
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write("This is a Curtain plugin: Curtain starts it (plugins.<kind>.path).\n")
        sys.exit(1)
    versions = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(CONTRACT_VERSION)).split(",")
    if str(CONTRACT_VERSION) not in versions:
        sys.stderr.write("host speaks contract versions %s, this plugin %d\n" % (versions, CONTRACT_VERSION))
        sys.exit(1)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    add_servicer(impl, server)
    health_pb2_grpc.add_HealthServicer_to_server(_Health(impl), server)
    stopped = threading.Event()

    def stop(reason):
        if stopped.is_set():
            return
        stopped.set()
        log("info", "stopping", reason=reason)
        server.stop(grace=5).wait()

    goplugin_pb2_grpc.add_GRPCControllerServicer_to_server(_Controller(stop), server)

    sock = os.path.join(tempfile.mkdtemp(prefix="curtain-py-plugin-"), "plugin.sock")
    address = "unix:" + sock
    cert_field = ""
    client_cert = os.environ.get("PLUGIN_CLIENT_CERT")
    if client_cert:
        key_pem, cert_pem, cert_der = _certificate()
        while pad_certificate and len(cert_der) % 3 == 0:  # make sure there is padding to show
            key_pem, cert_pem, cert_der = _certificate()
        creds = grpc.ssl_server_credentials([(key_pem, cert_pem)], root_certificates=client_cert.encode(),
                                            require_client_auth=True)
        server.add_secure_port(address, creds)
        cert_field = base64.b64encode(cert_der).decode()
        if not pad_certificate:
            cert_field = cert_field.rstrip("=")  # go-plugin wants unpadded base64
    else:
        server.add_insecure_port(address)
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop, args=("SIGTERM",), daemon=True).start())

    # The handshake: CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|PROTOCOL|CERT
    sys.stdout.write("1|%d|unix|%s|grpc|%s\n" % (CONTRACT_VERSION, sock, cert_field))
    sys.stdout.flush()
    log("info", "plugin started", name=impl.NAME, kind=impl.KIND)

    parent = os.getppid()
    while not stopped.wait(0.5):
        if os.getppid() != parent:
            stop("the host process is gone")
    server.wait_for_termination()
    try:
        os.remove(sock)
        os.rmdir(os.path.dirname(sock))
    except OSError:
        pass
