"""The composition root: builds a function's dependencies from its settings, in one place.

On Lambda, `dependencies()` builds them once per container from the environment the
template gives. The local runtime builds one `Dependencies` per local stack (from the
deployed stack's physical ids) and provides it to the invocations it runs, so several
stacks can live in one process without touching `os.environ`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from functions.common.aws import AwsClients
from functions.common.notifier import SnsNotifier
from functions.common.publisher import IotStatusPublisher
from functions.common.settings import Settings
from functions.dal.dispatch_reads import DispatchReads
from functions.dal.due import DueIndex
from functions.dal.events import EventMarkers
from functions.dal.learning import LearnedCountsCache, LearningTable
from functions.dal.orders import OrdersTable
from functions.dal.registry import RegistryTable
from functions.dal.rejections import RejectionsTable
from functions.dal.stock import StockTable
from functions.dal.technicians import TechniciansTable
from functions.dal.visits import Visits
from functions.domain.catalog import Catalog, default_catalog
from functions.logic.announce import Announcer, home_timezone
from functions.logic.dispatch import Dispatcher
from functions.logic.ingest import FaultIngestor

if TYPE_CHECKING:
    # Imported where they are built: what one function never uses stays off its cold start
    # (ingest verifies no tokens, lists no dead letters and moves no order on for a
    # technician); each handler imports what it serves with at its own import.
    from functions.auth.tokens import TokenVerifier
    from functions.dal.accounts import AccountsTable
    from functions.logic.homes import Homes
    from functions.logic.offers import OfferDesk
    from functions.logic.progress import OrderProgress
    from functions.logic.replay import DeadLetterReplay
    from functions.logic.sweeper import StuckOrderSweeper
    from functions.logic.tickets import OrderActions
    from functions.logic.triage import TriageQueue

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Once(Generic[T]):
    """An attribute built on first access, once even when invocations race for it."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self._build = build
        self._name = build.__name__

    @overload
    def __get__(self, instance: None, owner: type) -> _Once[T]: ...
    @overload
    def __get__(self, instance: Dependencies, owner: type) -> T: ...
    def __get__(self, instance: Dependencies | None, owner: type) -> _Once[T] | T:
        if instance is None:
            return self
        # After the first access the value sits in the instance's __dict__, which Python
        # consults before this (non-data) descriptor: no lock on the warm path.
        with instance._lock:
            if self._name not in instance.__dict__:
                instance.__dict__[self._name] = self._build(instance)
            return instance.__dict__[self._name]


class Dependencies:
    """Tables, clients, use cases, catalog and clock of one function deployment."""

    def __init__(
        self,
        settings: Settings,
        clients: AwsClients | None = None,
        *,
        catalog: Callable[[], Catalog] = default_catalog,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.clients = clients or AwsClients(settings.iot_data_url)
        self.catalog = catalog
        self.clock = clock
        self._lock = threading.RLock()  # re-entrant: a use case builds its tables

    # One object per job of the orders table (orders, their fault events, their due work)
    # and one for the writes that span tables (visits).

    @_Once
    def orders(self) -> OrdersTable:
        return OrdersTable(self.clients.dynamodb, self.settings.orders_table)

    @_Once
    def events(self) -> EventMarkers:
        return EventMarkers(self.clients.dynamodb, self.settings.orders_table)

    @_Once
    def due(self) -> DueIndex:
        return DueIndex(self.clients.dynamodb, self.settings.orders_table)

    @_Once
    def visits(self) -> Visits:
        return Visits(
            self.clients.dynamodb,
            orders=self.orders,
            technicians=self.technicians,
            stock=self.stock,
            learning=self.learning,
        )

    @_Once
    def registry(self) -> RegistryTable:
        return RegistryTable(self.clients.dynamodb, self.settings.registry_table)

    @_Once
    def rejections(self) -> RejectionsTable:
        return RejectionsTable(self.clients.dynamodb, self.settings.rejections_table)

    @_Once
    def technicians(self) -> TechniciansTable:
        return TechniciansTable(self.clients.dynamodb, self.settings.technicians_table)

    @_Once
    def stock(self) -> StockTable:
        return StockTable(self.clients.dynamodb, self.settings.stock_table)

    @_Once
    def learning(self) -> LearningTable:
        return LearningTable(self.clients.dynamodb, self.settings.learning_table)

    @_Once
    def accounts(self) -> AccountsTable:
        from functions.dal.accounts import AccountsTable

        return AccountsTable(self.clients.dynamodb, self.settings.accounts_table)

    @_Once
    def dispatch_reads(self) -> DispatchReads:
        return DispatchReads(self.clients.dynamodb, self.technicians, self.stock)

    @_Once
    def token_verifier(self) -> TokenVerifier:
        """One per container: the pool's keys are cached in it."""
        from functions.auth.tokens import TokenVerifier

        return TokenVerifier(
            self.settings.token_issuer,
            self.settings.jwks_url,
            self.settings.user_pool_client_id,
        )

    @_Once
    def learned_counts(self) -> LearnedCountsCache:
        return LearnedCountsCache(self.learning)

    @_Once
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(
            orders=self.orders,
            visits=self.visits,
            technicians=self.technicians,
            reads=self.dispatch_reads,
            catalog=self.catalog,
            clock=self.clock,
            timings=self.settings.offer_timings,
        )

    @_Once
    def offer_desk(self) -> OfferDesk:
        # Imported here: ingest makes offers through the dispatcher, never answers one.
        from functions.logic.offers import OfferDesk

        return OfferDesk(
            orders=self.orders,
            registry=self.registry,
            technicians=self.technicians,
            visits=self.visits,
            reads=self.dispatch_reads,
            dispatcher=self.dispatcher,
            announcer=self.announcer,
            catalog=self.catalog,
            clock=self.clock,
        )

    @_Once
    def order_progress(self) -> OrderProgress:
        from functions.logic.progress import OrderProgress

        return OrderProgress(
            orders=self.orders,
            visits=self.visits,
            catalog=self.catalog,
            clock=self.clock,
            announcer=self.announcer,
        )

    @_Once
    def status_publisher(self) -> IotStatusPublisher:
        return IotStatusPublisher(self.clients.iot_data)

    @_Once
    def notifier(self) -> SnsNotifier:
        return SnsNotifier(self.clients.sns, self.settings.notifications_topic_arn)

    @_Once
    def announcer(self) -> Announcer:
        return Announcer(
            publisher=self.status_publisher,
            clock=self.clock,
            timezone_of=home_timezone(self.registry),
            notifier=self.notifier,
            retries=self.due,
            web_url=self.settings.web_url,
        )

    @_Once
    def fault_ingestor(self) -> FaultIngestor:
        return FaultIngestor(
            registry=self.registry,
            orders=self.orders,
            events=self.events,
            rejections=self.rejections,
            dispatcher=self.dispatcher,
            stock=self.stock,
            publisher=self.status_publisher,
            catalog=self.catalog,
            learned=self.learned_counts.get,
            clock=self.clock,
            timings=self.settings.approval_timings,
            announcer=self.announcer,
        )

    @_Once
    def triage(self) -> TriageQueue:
        # Imported here: only the API triages, and its answer models would otherwise be
        # built on every cold start of the functions that share this root (ingest's too).
        from functions.dal.dead_letters import DeadLetterQueue
        from functions.logic.triage import TriageQueue

        url = self.settings.dead_letter_queue_url
        return TriageQueue(
            orders=self.orders,
            rejections=self.rejections,
            dead_letters=DeadLetterQueue(self.clients.sqs, url) if url else None,
        )

    @_Once
    def homes(self) -> Homes:
        # Imported here, like triage: only the API serves homeowners.
        from functions.logic.homes import Homes

        return Homes(
            orders=self.orders,
            registry=self.registry,
            accounts=self.accounts,
            clock=self.clock,
        )

    @_Once
    def order_actions(self) -> OrderActions:
        # Imported here, as triage: only the API acts for homeowners.
        from functions.logic.tickets import OrderActions

        return OrderActions(
            orders=self.orders,
            visits=self.visits,
            registry=self.registry,
            technicians=self.technicians,
            stock=self.stock,
            dispatcher=self.dispatcher,
            announcer=self.announcer,
            catalog=self.catalog,
            clock=self.clock,
            timings=self.settings.approval_timings,
        )

    @_Once
    def dead_letter_replay(self) -> DeadLetterReplay:
        from functions.logic.replay import DeadLetterReplay

        return DeadLetterReplay(self.fault_ingestor)

    @_Once
    def stuck_order_sweeper(self) -> StuckOrderSweeper:
        from functions.logic.sweeper import StuckOrderSweeper

        return StuckOrderSweeper(
            self.orders,
            self.events,
            self.due,
            self.fault_ingestor,
            self.clock,
            self.announcer,
            timings=self.settings.approval_timings,
            offers=self.offer_desk,
        )


_provided: ContextVar[Dependencies | None] = ContextVar("faultline_dependencies", default=None)


@functools.cache
def _from_environment() -> Dependencies:
    return Dependencies(Settings.from_environment())


def dependencies() -> Dependencies:
    """This invocation's dependencies: the ones a local runtime provides, else the
    container's own, built once from the environment (as on Lambda)."""
    return _provided.get() or _from_environment()


@contextmanager
def provided(deps: Dependencies) -> Iterator[Dependencies]:
    """Run handlers inside with `deps` (the local runtime does, per invocation)."""
    token = _provided.set(deps)
    try:
        yield deps
    finally:
        _provided.reset(token)


def forget_dependencies() -> None:
    """Build the container's dependencies anew on next use (e.g. after a SnapStart restore:
    cached clients, credentials and registry entries must not be shared by restored copies)."""
    _from_environment.cache_clear()
