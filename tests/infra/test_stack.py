"""Two local stacks in one process: each stack's functions use that stack's own resources
and write to that stack's function log."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from functions.domain.catalog import default_catalog
from infra.lambda_runtime import FunctionOutput
from infra.stack import LocalStack, StackOptions
from tests.functions.events import event_for, fault


def _options(name: str, seed: int) -> StackOptions:
    return StackOptions(broker="amqtt", homes=3, technicians=2, seed=seed, stack_name=name)


def test_two_local_stacks_in_one_process_keep_to_their_own_resources() -> None:
    catalog = default_catalog()
    with (
        LocalStack(_options("faultline-one", seed=1)) as one,
        LocalStack(_options("faultline-two", seed=2)) as two,
    ):
        orders = {}
        for stack in (one, two):
            assert stack.seed_data is not None and stack.invoker is not None
            appliance = stack.seed_data.appliances[0]
            info = catalog.find_model(appliance.manufacturer, appliance.model)
            assert info is not None
            event = event_for(appliance.thing_name, fault(info.codes[0]))
            invocation = stack.invoker.invoke_async("IngestFaultFunction", event).result(30)
            assert invocation.error is None, invocation.error
            orders[stack.options.stack_name] = invocation.result["order_id"]

        assert one.dependencies is not None and two.dependencies is not None
        assert one.dependencies.settings != two.dependencies.settings
        # Each order is in its own stack's table, and only there.
        assert one.dependencies.orders.get(orders["faultline-one"]) is not None
        assert two.dependencies.orders.get(orders["faultline-two"]) is not None
        assert one.dependencies.orders.get(orders["faultline-two"]) is None
        assert two.dependencies.orders.get(orders["faultline-one"]) is None


def test_function_output_goes_to_the_log_of_the_invoking_stack(tmp_path: Path) -> None:
    logs = {name: tmp_path / f"{name}.log" for name in ("one", "two")}
    outputs = [FunctionOutput.capture(path, f"lambda:{name}") for name, path in logs.items()]
    try:

        def write(text: str) -> None:
            print(text)

        threads = [
            threading.Thread(target=write, args=(f"from {name}",), name=f"lambda:{name}_0")
            for name in logs
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("from the console")
    finally:
        for output, name in zip(outputs, logs, strict=True):
            output.release(f"lambda:{name}")

    assert logs["one"].read_text() == "from one\n"
    assert logs["two"].read_text() == "from two\n"
    assert sys.stdout is not outputs[0]  # the console is back once no stack captures
