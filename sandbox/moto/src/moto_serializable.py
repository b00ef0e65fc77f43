"""moto_server with DynamoDB's isolation: one DynamoDB request at a time.

DynamoDB runs each TransactWriteItems and each conditional write in isolation (serializable).
moto_server answers requests on many threads and applies a transaction item by item, undoing
a failed one by restoring a copy taken at its start; two concurrent transactions can then
leave a half-written one behind. Holding one lock around every DynamoDB request restores the
guarantee Passage relies on (one run per idempotency key) without slowing the other services,
whose long polls would otherwise hold everything up.

Arguments are moto_server's own (-H host, -p port).
"""

import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main

_DYNAMODB = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serialized(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with _DYNAMODB:
            # Draining the body inside the lock keeps a lazily built answer inside it too.
            return list(_dispatch(self, environ, start_response))
    return _dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _serialized

if __name__ == "__main__":
    main()
