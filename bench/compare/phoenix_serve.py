"""Runs `phoenix serve` (the pinned arize-phoenix) with its gRPC listener on 127.0.0.1 only.

Phoenix binds its OTLP/gRPC server to [::]:PHOENIX_GRPC_PORT (all interfaces) and has no setting for the
host; benchmarks here listen on loopback only, so this launcher rewrites that one bind address before
Phoenix starts. Nothing else in Phoenix changes (its HTTP server follows PHOENIX_HOST).

  python phoenix_serve.py        (environment: PHOENIX_HOST, PHOENIX_PORT, PHOENIX_GRPC_PORT, ...)
"""
import sys

import grpc.aio._server as aio_server

_add_insecure_port = aio_server.Server.add_insecure_port


def _loopback_only(self, address):
    return _add_insecure_port(self, address.replace("[::]:", "127.0.0.1:").replace("0.0.0.0:", "127.0.0.1:"))


aio_server.Server.add_insecure_port = _loopback_only

from phoenix.server.main import main  # noqa: E402  (after the patch)

if __name__ == "__main__":
    sys.argv = ["phoenix", "serve"]
    sys.exit(main())
