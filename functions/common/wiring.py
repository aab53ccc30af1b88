"""Builds the use cases from settings and clients, once per process (Lambda container)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from functions.common import aws
from functions.common.publisher import IotStatusPublisher
from functions.common.settings import settings
from functions.dal.dispatch_reads import DispatchReads
from functions.dal.learning import LearnedCountsCache, LearningTable
from functions.dal.orders import OrdersTable
from functions.dal.registry import RegistryTable
from functions.dal.rejections import RejectionsTable
from functions.dal.stock import StockTable
from functions.dal.technicians import TechniciansTable
from functions.domain.catalog import default_catalog
from functions.logic.dispatch import Dispatcher
from functions.logic.ingest import FaultIngestor
from functions.logic.progress import OrderProgress


def utc_now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def orders_table() -> OrdersTable:
    return OrdersTable(
        aws.dynamodb(),
        settings().orders_table,
        technicians=technicians_table(),
        stock=stock_table(),
        learning=learning_table(),
    )


@functools.cache
def registry_table() -> RegistryTable:
    return RegistryTable(aws.dynamodb(), settings().registry_table)


@functools.cache
def rejections_table() -> RejectionsTable:
    return RejectionsTable(aws.dynamodb(), settings().rejections_table)


@functools.cache
def technicians_table() -> TechniciansTable:
    return TechniciansTable(aws.dynamodb(), settings().technicians_table)


@functools.cache
def stock_table() -> StockTable:
    return StockTable(aws.dynamodb(), settings().stock_table)


@functools.cache
def dispatcher() -> Dispatcher:
    return Dispatcher(
        orders=orders_table(),
        technicians=technicians_table(),
        reads=DispatchReads(aws.dynamodb(), technicians_table(), stock_table()),
        catalog=default_catalog,
        clock=utc_now,
    )


@functools.cache
def learning_table() -> LearningTable:
    return LearningTable(aws.dynamodb(), settings().learning_table)


@functools.cache
def order_progress() -> OrderProgress:
    return OrderProgress(
        orders=orders_table(),
        catalog=default_catalog,
        clock=utc_now,
    )


@functools.cache
def fault_ingestor() -> FaultIngestor:
    return FaultIngestor(
        registry=registry_table(),
        orders=orders_table(),
        rejections=rejections_table(),
        dispatcher=dispatcher(),
        stock=stock_table(),
        publisher=IotStatusPublisher(aws.iot_data()),
        catalog=default_catalog,
        learned=learned_counts().get,
        clock=utc_now,
    )


@functools.cache
def learned_counts() -> LearnedCountsCache:
    return LearnedCountsCache(learning_table())


def reset() -> None:
    """Drop every cached object (tests and the local stack change the environment)."""
    for factory in (
        orders_table,
        registry_table,
        rejections_table,
        technicians_table,
        stock_table,
        dispatcher,
        learning_table,
        learned_counts,
        order_progress,
        fault_ingestor,
    ):
        factory.cache_clear()
    aws.reset_clients()
