"""`faultline`: the one command for every job (the Makefile is a thin layer over it)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from infra.stack import StackOptions


def _stack_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("local stack")
    group.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    group.add_argument("--mqtt-port", type=int, default=1883, help="MQTT broker port (0: any free)")
    group.add_argument("--aws-port", type=int, default=5000, help="AWS emulator port (0: any free)")
    group.add_argument("--api-port", type=int, default=8000, help="HTTP API port (0: any free)")
    group.add_argument(
        "--iot-data-port", type=int, default=8883 + 1, help="IoT data-plane port (0: any free)"
    )
    group.add_argument(
        "--broker",
        choices=["auto", "amqtt", "mosquitto"],
        default="auto",
        help="MQTT broker: auto uses Mosquitto when installed, else the embedded amqtt",
    )
    group.add_argument("--homes", type=int, default=40, help="homes to seed")
    group.add_argument("--technicians", type=int, default=16, help="technicians to seed")
    group.add_argument("--seed", type=int, default=1, help="seed for the generated data")


def _options(args: argparse.Namespace) -> StackOptions:
    return StackOptions(
        host=args.host,
        mqtt_port=args.mqtt_port,
        aws_port=args.aws_port,
        api_port=args.api_port,
        iot_data_port=args.iot_data_port,
        broker=args.broker,
        homes=args.homes,
        technicians=args.technicians,
        seed=args.seed,
    )


def cmd_up(args: argparse.Namespace) -> int:
    from functions.domain.catalog import default_catalog
    from infra.stack import LocalStack
    from iot.faults import sim_appliances

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalStack(_options(args)) as stack:
        print("Faultline local stack is up:")
        for name, url in stack.endpoints().items():
            print(f"  {name:<13} {url}")
        assert stack.broker is not None and stack.seed_data is not None
        thing = sim_appliances(stack.seed_data.appliances, default_catalog())[0]
        payload = json.dumps(
            {
                "event_id": "try-1",
                # Now: an event outside the time window (intake.MAX_EVENT_AGE) is rejected.
                "occurred_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "fault_code": thing.fault_codes[0],
                "firmware": "1.0",
                "telemetry": {},
            }
        )
        print(
            "\nTry:\n"
            f"  mosquitto_sub -h {stack.broker.host} -p {stack.broker.port} -v "
            f"-t cmd/repair/{thing.thing_name}/status &\n"
            f"  mosquitto_pub -h {stack.broker.host} -p {stack.broker.port} -q 1 "
            f"-t dt/repair/{thing.thing_name}/fault -m '{payload}'\n"
            f"  curl {stack.api_url}/orders?status=dispatched\n"
            f"  aws --endpoint-url {stack.endpoints()['aws']} dynamodb list-tables\n"
            "Ctrl-C stops it.",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from infra import demo

    return demo.run(args.duration, args.rate, _options(args))


def cmd_simulate(args: argparse.Namespace, rest: list[str]) -> int:
    from iot import simulator

    return simulator.main(rest)


def cmd_bench(args: argparse.Namespace, rest: list[str]) -> int:
    if rest[:1] == ["diagnosis"]:
        from bench import diagnosis

        return diagnosis.main(rest[1:])
    if rest[:1] == ["burst"]:
        from bench import burst

        return burst.main(rest[1:])
    from bench import flow

    return flow.main(rest[1:] if rest[:1] == ["flow"] else rest)


def cmd_catalog(args: argparse.Namespace) -> int:
    from functions.domain.catalog.validation import validate_catalog_file

    failed = 0
    for path in args.files:
        issues = validate_catalog_file(path)
        for issue in issues:
            print(f"{path}: code {issue.code or '-'}: {issue.field or '-'}: {issue.message}")
        if issues:
            failed += 1
        else:
            print(f"{path}: ok")
    return 1 if failed else 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from schemas import generate

    if args.check:
        stale = [
            p
            for p, text in generate.expected_files().items()
            if not p.exists() or p.read_text() != text
        ]
        for path in stale:
            print(f"out of date: {path}")
        return 1 if stale else 0
    for path in generate.write_all():
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faultline",
        description="Faultline: appliance faults over MQTT become diagnosed, dispatched "
        "repair orders.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser(
        "up",
        help="start the local stack and keep it up until Ctrl-C",
        description="Start the MQTT broker, the AWS emulator with template.yaml "
        "deployed and seeded, the IoT rules bridge and the HTTP API; print "
        "their endpoints and stay up until Ctrl-C.",
    )
    _stack_options(up)
    up.set_defaults(func=cmd_up)

    demo = sub.add_parser(
        "demo",
        help="run a simulated fleet through the local stack",
        description="Start the local stack on free ports, run a simulated "
        "fleet (new faults, duplicates, bad input) for a bounded time and "
        "print the orders, technicians, parts and publish-to-dispatch times.",
    )
    _stack_options(demo)
    demo.add_argument("--duration", type=float, default=20.0, help="seconds of publishing")
    demo.add_argument("--rate", type=float, default=5.0, help="faults per second")
    demo.set_defaults(func=cmd_demo, mqtt_port=0, aws_port=0, api_port=0, iot_data_port=0)

    simulate = sub.add_parser(
        "simulate",
        add_help=False,
        help="publish simulated appliance faults to a broker (see --help)",
    )
    simulate.set_defaults(func=cmd_simulate, passthrough=True)

    bench = sub.add_parser(
        "bench",
        add_help=False,
        help="benchmarks: 'bench' (flow), 'bench diagnosis' or 'bench burst'; --json",
    )
    bench.set_defaults(func=cmd_bench, passthrough=True)

    catalog = sub.add_parser("catalog", help="fault-code catalog tools")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    validate = catalog_sub.add_parser(
        "validate",
        help="validate catalog files",
        description="Validate manufacturer catalog files; report "
        "every error with file, code and field. Exit 1 on errors.",
    )
    validate.add_argument("files", nargs="+")
    validate.set_defaults(func=cmd_catalog)

    schemas = sub.add_parser("schemas", help="write JSON Schema files from the pydantic models")
    schemas.add_argument("--check", action="store_true", help="only report files out of date")
    schemas.set_defaults(func=cmd_schemas)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "passthrough", False):
        return int(args.func(args, rest))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
