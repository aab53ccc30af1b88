"""Local adjustments to moto's internals, all of them here, for one moto version.

Each patch replaces or wraps a private part of moto (its server's request handler, the
DynamoDB backend's transactions, items and queries, the service dispatcher), so it is
only known to be right for the moto version it was read against: ``MOTO_VERSION``, the
version pinned in constraints.txt. ``patched_server`` checks the installed version, applies
every patch and returns the server; on another version it refuses, naming both.
"""

from __future__ import annotations

import copy
import functools
import inspect
import io
import socket
import threading
from typing import Any

#: The moto release these patches were written against (pinned in constraints.txt).
MOTO_VERSION = "5.2.5"


class MotoVersionError(RuntimeError):
    """The installed moto is not the release the patches were written against."""


def check_moto_version() -> None:
    """Raise MotoVersionError unless the installed moto is ``MOTO_VERSION``."""
    import moto

    found = moto.__version__
    if found != MOTO_VERSION:
        raise MotoVersionError(
            f"infra/moto_patches.py was written against moto {MOTO_VERSION}, found moto "
            f"{found}. Its patches replace moto internals that may have changed. Install the "
            f"pinned version (pip install -c constraints.txt -e '.[dev]'), or read each patch "
            f"against moto {found}, adjust it, and then update MOTO_VERSION and constraints.txt."
        )


def patched_server(host: str, port: int) -> Any:
    """moto's threaded server (not started) with every local patch applied.

    The in-place patches are applied once per process; calling this again is cheap.
    """
    check_moto_version()
    _item_level_transaction_rollback()
    _partition_scoped_queries()
    _linear_item_size_check()
    _list_moto_modules_once()
    _iot_physical_resource_ids()
    _constant_time_queue_sends()
    return _quiet_moto_server(host, port)


def _quiet_moto_server(host: str, port: int) -> Any:
    """moto's ThreadedMotoServer without a werkzeug access-log line per request."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):
        """moto's request handler without an access-log line, on connections that stay open.

        werkzeug's own ``run_wsgi`` answers every request with ``Connection: close`` and
        then waits 10 ms for stray body bytes (http.server cannot otherwise drain a body the
        application left unread). So each AWS call paid a TCP connect, a new server thread
        and that wait. Here the body is read in full before the application runs, the
        response goes out with its length, and the HTTP/1.1 connection serves the client's
        next request. The environ is still werkzeug's (and moto's) ``make_environ``.
        """

        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Head and body go out as two writes; without this the body waits for the
            # client's delayed ACK of the head (40 ms) on a connection that stays open.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            environ = self.make_environ()
            if environ.pop("wsgi.input_terminated", False):  # chunked: read to its end
                body = environ["wsgi.input"].read()
                environ.pop("HTTP_TRANSFER_ENCODING", None)
            else:
                body = self.rfile.read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            started: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
                started[:] = [status, headers]
                return chunks.append

            chunks: list[bytes] = []
            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
            except Exception as exc:  # what werkzeug would answer, then close
                self.close_connection = True
                self.send_error(500, f"{type(exc).__name__}: {exc}")
                return
            data = b"".join(chunks)
            status, headers = started
            code = int(status.split(" ", 1)[0])
            self.send_response(code, status.partition(" ")[2])
            # HEAD answers carry the length of what a GET would return: keep the app's.
            keep_length = self.command == "HEAD" or 100 <= code < 200 or code in (204, 304)
            for name, value in headers:
                if name.lower() in ("connection", "transfer-encoding"):
                    continue
                if name.lower() == "content-length" and not keep_length:
                    continue
                self.send_header(name, value)
            if not keep_length:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data and not keep_length:
                self.wfile.write(data)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    class QuietServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            # moto's backends are not thread-safe (a transaction deep-copies tables that a
            # concurrent write is changing), so the emulator serves one request at a time.
            one_at_a_time = threading.Lock()

            def serialized(environ: Any, start_response: Any) -> Any:
                with one_at_a_time:
                    return list(app(environ, start_response))

            self._server = make_server(
                self._ip_address, self._port, serialized, True, request_handler=QuietHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    return QuietServer(ip_address=host, port=port, verbose=False)


def _item_level_transaction_rollback() -> None:
    """Make moto's TransactWriteItems back up only the items it touches.

    moto deep-copies every table a transaction names, so each transaction costs time in
    proportion to the table's size and the local stack slows down as orders accumulate.
    Backing up just the touched items gives the same all-or-nothing result.
    """
    import moto.dynamodb.models as ddb_models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    backend_cls = ddb_models.DynamoDBBackend
    if getattr(backend_cls.transact_write_items, "item_level_rollback", False):
        return
    original = backend_cls.transact_write_items

    class _TablesAreNotCopied:
        """moto's module-level `copy`, except that a Table is 'copied' as itself."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    ddb_models.copy = _TablesAreNotCopied  # type: ignore[assignment]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            attrs = op.get("Key") or op.get("Item") or {}
            if table is None or table.hash_key_attr not in attrs:
                continue
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_attr = table.range_key_attr
            range_value = DynamoType(attrs[range_attr]) if range_attr in attrs else None
            if table.has_range_key and range_value is None:
                continue
            current = table.get_item(hash_value, range_value)
            backups.append((table, hash_value, range_value, copy.deepcopy(current)))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, saved in reversed(backups):
                if saved is None:
                    if table.get_item(hash_value, range_value) is not None:
                        table.delete_item(hash_value, range_value)
                elif range_value is not None:
                    table.items[hash_value][range_value] = saved
                else:
                    table.items[hash_value] = saved
            raise

    transact_write_items.item_level_rollback = True  # type: ignore[attr-defined]
    backend_cls.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _constant_time_queue_sends() -> None:
    """Make moto's SQS SendMessage cost the same however many messages the queue holds.

    To read one attribute (ContentBasedDeduplication), moto's send_message builds every queue
    attribute, and three of them count the queue's messages with slow datetime arithmetic:
    a send costs time in proportion to the queue's length. The local outbox queue gathers
    every notification the topic delivers, so over a run each SNS Publish grew slower, and
    moto serves one request at a time: every emulated call queued behind it (`faultline
    bench`'s publish -> dispatched p99 climbed past a second within a minute at 20/s).
    While a send runs, the counts (which it never reads) answer 0.
    """
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend.send_message, "constant_time", False):
        return
    sending = threading.local()
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        counted = getattr(Queue, name).fget

        def count(self: Any, counted: Any = counted) -> int:
            return 0 if getattr(sending, "active", False) else int(counted(self))

        setattr(Queue, name, property(count))
    original = SQSBackend.send_message

    @functools.wraps(original)
    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.active = True
        try:
            return original(self, *args, **kwargs)
        finally:
            sending.active = False

    send_message.constant_time = True  # type: ignore[attr-defined]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def _linear_item_size_check() -> None:
    """Make moto build an item with one 400 KB size check instead of one per attribute.

    moto's item attribute dict re-sizes the whole item (recursively) on every attribute it
    is given, so building an item costs O(attributes^2); an order with its history made
    that a fifth of the emulator's CPU under the benchmark. Sizes are not negative, so
    checking the total once raises ItemSizeTooLarge for exactly the same items. Later
    single-attribute updates keep moto's own check.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(Item.__init__, "linear_size_check", False):
        return

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        typed = {key: DynamoType(value) for key, value in attrs.items()}
        if sum(bytesize(key) + value.size() for key, value in typed.items()) > 405000:
            raise ItemSizeTooLarge  # moto's limit, see LimitedSizeDict
        self.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.update(self.attrs, typed)

    __init__.linear_size_check = True  # type: ignore[attr-defined]
    Item.__init__ = __init__  # type: ignore[method-assign]


def _iot_physical_resource_ids() -> None:
    """Give the IoT policy and thing type the physical id CloudFormation gives them.

    moto creates both from the template but reports an empty PhysicalResourceId, so the
    stack's resources could not be told apart from ones never created, and a `Ref` to them
    would be the model object. On AWS both physical ids (and `Ref`) are the name.
    """
    from moto.iot.models import FakePolicy, FakeThingType

    FakePolicy.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    FakeThingType.physical_resource_id = property(  # type: ignore[attr-defined]
        lambda self: self.thing_type_name
    )


def _partition_scoped_queries() -> None:
    """Make moto's Query read only the partition it names, on the table or an index.

    moto filters every item of the table for each Query, and first sorts them all by the
    table's key (slow comparisons of its attribute objects), so a Query slows down as the
    table grows; DynamoDB reads just the partition. An index query gets the items whose
    index key matches, picked with a plain comparison (the sweeper's dozen index queries a
    minute otherwise stalled the one-request-at-a-time emulator for seconds as orders
    accumulated).
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "partition_scoped", False):
        return
    original = Table.query

    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs)
        index_name = call.arguments.get("index_name")
        if index_name is not None:
            partition = _index_partition(self, index_name, call.arguments)
        elif self.range_key_attr:
            partition = list(self.items.get(call.arguments["hash_key"], {}).values())
        else:
            partition = None
        if partition is None:
            return original(self, *args, **kwargs)
        self.all_items = lambda: partition  # shadows the method for this call only
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    query.partition_scoped = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]


def _equal(stored: Any, wanted: Any) -> bool:
    return stored is not None and bool(stored == wanted)


def _index_partition(table: Any, index_name: str, arguments: dict[str, Any]) -> list[Any] | None:
    """The items in one partition of a table's index, in the table's key order (as moto's
    own all_items), or None to leave the query to moto (an unknown index, no hash value)."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    hash_value = arguments.get("hash_key")
    if index is None or hash_value is None:
        return None
    hash_attrs = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    if len(hash_attrs) != 1:
        return None
    hash_attr = hash_attrs[0]
    items = (
        item
        for stored in table.items.values()
        for item in (stored.values() if table.range_key_attr else [stored])
    )
    # The stored value on the left: moto's attribute equality assumes another attribute.
    partition = [item for item in items if _equal(item.attrs.get(hash_attr), hash_value)]
    return sorted(partition, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _list_moto_modules_once() -> None:
    """moto's dispatcher lists its package directory (a listdir and ~60 stats) on every
    request to tell a service name from a host name; the listing never changes while the
    emulator runs."""
    from moto import backends

    if isinstance(backends.list_of_moto_modules, functools._lru_cache_wrapper):
        return
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = functools.cache(lambda: modules)
