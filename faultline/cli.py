"""`faultline`: the one command for every job (the Makefile is a thin layer over it)."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.seed import LOCAL_PASSWORD
from infra.stack import LocalStack, StackOptions
from schemas.notifications import NotificationKind


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
    group.add_argument(
        "--tls",
        action="store_true",
        help="Mosquitto with mutual TLS: one certificate per appliance, an ACL like the IoT "
        "policy (each thing publishes and receives only on its own topics)",
    )
    group.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter, e.g. ApprovalExpirySeconds=90 (repeatable)",
    )
    _pki_dir_option(group)


def _running_stack_options(parser: argparse.ArgumentParser) -> None:
    """Where a running `faultline up` is: its AWS emulator and stack name."""
    parser.add_argument("--aws-url", default="http://127.0.0.1:5000", help="the AWS emulator")
    parser.add_argument("--stack-name", default="faultline-local")


def _parameters(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: --parameter {pair!r}: expected NAME=VALUE")
        parsed[name] = value
    return parsed


def _pki_dir_option(parser: argparse._ActionsContainer) -> None:
    parser.add_argument(
        "--pki-dir",
        type=Path,
        default=None,
        help="the local device CA's directory (default for up and device: "
        "$XDG_CACHE_HOME/faultline/pki; demo: a temporary one)",
    )


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
        tls=args.tls,
        pki_dir=args.pki_dir,
        parameters=_parameters(getattr(args, "parameter", [])),
    )


def cmd_up(args: argparse.Namespace) -> int:
    from functions.domain.catalog import default_catalog
    from iot.faults import sim_appliances
    from iot.pki import default_pki_dir

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    options = _options(args)
    if options.tls and options.pki_dir is None:
        # Kept, so `faultline device register` in another shell uses the CA this broker trusts.
        options.pki_dir = default_pki_dir()
    with LocalStack(options) as stack:
        print("Faultline local stack is up:")
        for name, url in stack.endpoints().items():
            print(f"  {name:<13} {url}")
        if args.endpoints_file:
            with open(args.endpoints_file, "w", encoding="utf-8") as out:
                json.dump(stack.connection_details(), out, indent=2)
            print(f"  (endpoints, user pool and users written to {args.endpoints_file})")
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
        connection = f"-h {stack.broker.host} -p {stack.broker.port}"
        certificate = stack.device_certificates.get(thing.thing_name)
        if certificate is not None:
            connection += (
                f" -V mqttv5 --cafile {certificate.ca_file} --cert {certificate.cert_file}"
                f" --key {certificate.key_file}"
            )
        print(
            "\nTry:\n"
            f"  mosquitto_sub {connection} -v -t cmd/repair/{thing.thing_name}/status &\n"
            f"  mosquitto_pub {connection} -q 1 "
            f"-t dt/repair/{thing.thing_name}/fault -m '{payload}'\n"
            f"  aws --endpoint-url {stack.endpoints()['aws']} dynamodb list-tables\n"
            f"{_sign_in_help(stack)}"
            "Ctrl-C stops it.",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


def _sign_in_help(stack: LocalStack) -> str:
    """How to sign in as a seeded user with the standard AWS CLI and call the API."""
    assert stack.deployed is not None and stack.deployed.user_pool is not None
    pool = stack.deployed.user_pool
    examples: dict[str, str] = {}
    for user in stack.users.values():
        examples.setdefault(user.group, user.username)
    listed = "\n".join(f"    {group:<13} {name}" for group, name in examples.items())
    counts = ", ".join(f"{sum(u.group == g for u in stack.users.values())} {g}" for g in examples)
    # The work queue below is the operators' (every route needs a token of a group it admits).
    first = examples.get("operator") or next(iter(examples.values()))
    return (
        f"\nSeeded users ({counts}; every password {LOCAL_PASSWORD}), e.g.:\n{listed}\n"
        "Sign in and call the API with the token:\n"
        f"  TOKEN=$(aws cognito-idp initiate-auth --endpoint-url {stack.endpoints()['aws']} "
        f"--region {stack.deployed.region} --auth-flow USER_PASSWORD_AUTH "
        f"--client-id {pool.client_id} "
        f"--auth-parameters USERNAME={first},PASSWORD={LOCAL_PASSWORD} "
        "--query AuthenticationResult.AccessToken --output text)\n"
        f'  curl -H "Authorization: Bearer $TOKEN" {stack.api_url}/orders?status=dispatched\n'
    )


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
    if rest[:1] == ["scale"]:
        from bench import scale

        return scale.main(rest[1:])
    if rest[:1] == ["faults"]:
        from bench import faults

        return faults.main(rest[1:])
    if rest[:1] == ["burst"]:
        from bench import burst

        return burst.main(rest[1:])
    if rest[:1] == ["plan"]:
        from bench import plan

        return plan.main(rest[1:])
    if rest[:1] == ["dispatch"]:
        from bench import dispatch

        return dispatch.main(rest[1:])
    if rest[:1] == ["storm"]:
        from bench import storm

        return storm.main(rest[1:])
    from bench import flow

    if rest[:1] == ["load"]:
        return flow.load_main(rest[1:])
    return flow.main(rest[1:] if rest[:1] == ["flow"] else rest)


def cmd_plan_solve(args: argparse.Namespace) -> int:
    """Solve a VRPTW instance with the day planner's solver; print its routes and cost."""
    from functions.common.routing_solver import SolveLimit
    from functions.common.vrptw import InstanceError, customer_routes, read_instance, solve_instance

    if args.seconds <= 0:
        print("error: --seconds must be positive", file=sys.stderr)
        return 2
    try:
        instance = read_instance(args.instance)
    except InstanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = solve_instance(instance, SolveLimit(seconds=args.seconds), args.seed)
    routes = customer_routes(result.solution.trips)
    if args.json:
        print(json.dumps({"routes": routes, "cost": round(result.cost, 1)}))
    else:
        for number, route in enumerate(routes, 1):
            print(f"Route #{number}: {' '.join(map(str, route))}")
        print(f"Cost {result.cost:.1f}")
    for issue in result.checked.issues:
        print(f"infeasible: {issue}", file=sys.stderr)
    return 0 if result.checked.feasible else 1


def cmd_device_register(args: argparse.Namespace) -> int:
    from iot.pki import CertificateAuthority, default_pki_dir

    authority = CertificateAuthority(args.pki_dir or default_pki_dir())
    try:
        existing = authority.client_certificate(args.thing)
        if existing is not None and not args.renew:
            print(
                f"error: {args.thing} already has a certificate ({existing.cert_file}); "
                "--renew issues a new one",
                file=sys.stderr,
            )
            return 1
        certificate = authority.issue_client(args.thing)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"certificate  {certificate.cert_file}")
    print(f"private key  {certificate.key_file}")
    print(f"CA           {certificate.ca_file}")
    print(
        "\nIt connects as client id (and may publish and receive as) "
        f"{args.thing} on a broker started with `faultline up --tls` and this CA, e.g.\n"
        f"  faultline simulate --port <mqtt port> --cafile {certificate.ca_file} "
        f"--cert {certificate.cert_file} --key {certificate.key_file}"
    )
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    """List or replay the ingest dead-letter queue of a running local stack (`faultline up`)."""
    from functions.dal.dead_letters import DeadLetterQueue
    from functions.logic.replay import fault_event_identity
    from infra.aws import attach_stack
    from infra.lambda_runtime import AsyncInvoker
    from infra.stack import function_dependencies, replay_through_consumer, use_powertools_settings
    from infra.template import functions as template_functions

    deployed = attach_stack(args.aws_url, args.stack_name)
    queue_url = deployed.physical_ids["IngestDeadLetterQueue"]
    if args.dlq_command == "list":
        rows = []
        for letter in DeadLetterQueue(deployed.client("sqs"), queue_url).peek(limit=None):
            thing_name, event_id = fault_event_identity(letter.body) or (None, None)
            if thing_name is not None and event_id is None:
                event_id = "(payload rejected: no event id)"
            from_function = "ErrorMessage" in letter.attributes
            rows.append(
                {
                    "message_id": letter.message_id,
                    "function": "IngestFaultFunction" if from_function else "rule",
                    "error": letter.error,
                    "attempts": letter.attempts,
                    "thing_name": thing_name,
                    "event_id": event_id,
                }
            )
        if args.json:
            print(json.dumps(rows))
        for row in [] if args.json else rows:
            print(
                f"{row['message_id']}  {row['function']}  attempts {row['attempts'] or '-'}  "
                f"{row['thing_name'] or '-'}/{row['event_id'] or '-'}  {row['error']}"
            )
        if not rows and not args.json:
            print("the dead-letter queue is empty")
        return 0
    use_powertools_settings(deployed.template)
    deps = function_dependencies(
        deployed, args.aws_url, deployed.parameters.get("IotDataEndpoint", args.aws_url)
    )
    specs = template_functions(deployed.template)
    invoker = AsyncInvoker(
        {f: (s.handler, s.memory or 128, s.timeout or 3) for f, s in specs.items()},
        lambda _: None,
        deps,
        concurrency=1,
    )
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the consumer's logs
            report = replay_through_consumer(deployed, invoker, queue_url)
    finally:
        invoker.shutdown()
    summary: dict[str, Any] = {
        "replayed": len(report.replayed),
        "not_replayable": [
            {"message_id": d.message_id, "error": d.error} for d in report.not_replayable
        ],
        "failed": [d.message_id for d in report.failed],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"replayed {summary['replayed']}")
        for item in summary["not_replayable"]:
            print(f"not a fault event (reported, removed): {item['message_id']} {item['error']}")
        if report.failed:
            print(f"failed again, left in the queue: {' '.join(summary['failed'])}")
    return 1 if report.failed else 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """List the notifications a running local stack sent (its outbox queue, subscribed to
    the notifications topic), oldest first; left in the queue."""
    from infra.aws import attach_stack
    from infra.outbox import list_outbox, outbox_queue_name

    deployed = attach_stack(args.aws_url, args.stack_name)
    sqs = deployed.client("sqs")
    url = sqs.get_queue_url(QueueName=outbox_queue_name(args.stack_name))["QueueUrl"]
    sent = [
        s.notification
        for s in list_outbox(sqs, url)
        if (args.home is None or s.notification.home_id == args.home)
        and (args.kind is None or s.notification.kind.value == args.kind)
        and (args.order is None or s.notification.order_id == args.order)
    ]
    if args.json:
        print(json.dumps([n.model_dump(mode="json", by_alias=True) for n in sent]))
        return 0
    for n in sent:
        window = f"  {n.window.start:%a %d %b %H:%M}-{n.window.end:%H:%M}" if n.window else ""
        calendar = "  [.ics]" if n.calendar else ""
        print(
            f"{n.sent_at:%H:%M:%S}  {n.kind.value:<17} to {n.recipient.value:<9} "
            f"{n.home_id}  {n.order_id}  {n.title}{window}{calendar}\n"
            f"          {n.text}\n          {n.link}"
        )
    if not sent:
        print("no notifications sent" + (" (matching)" if args.home or args.kind else ""))
    return 0


def cmd_alarms(args: argparse.Namespace) -> int:
    """List the template's alarms in a running local stack with the state the emulator
    keeps; exit 1 when one is missing there."""
    from infra.alarms import NOT_EVALUATED, alarm_states
    from infra.aws import attach_stack

    deployed = attach_stack(args.aws_url, args.stack_name)
    states = alarm_states(
        deployed.client("cloudwatch"), deployed.template, deployed.physical_ids, deployed.parameters
    )
    missing = [a.name for a in states if a.state == "MISSING"]
    if args.json:
        print(json.dumps([asdict(a) for a in states]))
        return 1 if missing else 0
    for a in states:
        where = " ".join(f"{k}={v}" for k, v in a.dimensions.items())
        told = ", ".join(arn.rsplit(":", 1)[-1] for arn in a.actions) or "nobody"
        print(
            f"{a.state:<17} {a.name}\n"
            f"                  {a.namespace} {a.metric} {where}: {a.statistic} "
            f"{_COMPARISONS.get(a.comparison, a.comparison)} {a.threshold:g} -> {told}"
            + ("" if a.reason == NOT_EVALUATED else f"\n                  {a.reason}")
        )
    print(
        "\nThe emulator keeps these alarms but never evaluates them (the local functions' "
        "metrics go to their log file, not to CloudWatch): a state stays as created or set, "
        "and no alarm publishes to the operators' topic."
    )
    if missing:
        print(f"not in the emulator: {' '.join(missing)}")
    return 1 if missing else 0


_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


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
    up.add_argument(
        "--endpoints-file",
        metavar="PATH",
        help="write the endpoints, user pool and client ids and the seeded users "
        "(usernames, groups, passwords, what they own) to PATH as one JSON object",
    )
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
        help="benchmarks: 'bench' (flow), 'bench load', 'bench scale', 'bench faults', "
        "'bench burst', 'bench diagnosis', 'bench plan', 'bench dispatch', 'bench storm'; "
        "--json; exit 1 when "
        "a figure misses its target",
    )
    bench.set_defaults(func=cmd_bench, passthrough=True)

    plan = sub.add_parser("plan", help="route planning: solve a VRPTW instance")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True)
    solve = plan_sub.add_parser(
        "solve",
        help="solve a VRPTW instance (VRPLIB format) with the day planner's solver",
        description="Solve a standard VRPTW instance (VRPLIB format, e.g. Solomon's; DIMACS "
        "convention: distances truncated to one decimal) with the solver that plans the "
        "technicians' days, check the answer (windows, capacity, each customer once) and "
        "print its routes (customer i is node i+1 of the file, the depot not listed) and "
        "cost. Exit 2 when the file does not parse, 1 when no feasible solution was found.",
    )
    solve.add_argument("instance", type=Path, help="the .vrp file")
    solve.add_argument("--seconds", type=float, default=5.0, help="solver time (default 5)")
    solve.add_argument("--seed", type=int, default=1, help="solver seed (default 1)")
    solve.add_argument(
        "--json", action="store_true", help='print {"routes": [[...], ...], "cost": ...}'
    )
    solve.set_defaults(func=cmd_plan_solve)

    device = sub.add_parser("device", help="local device identities (certificates)")
    device_sub = device.add_subparsers(dest="device_command", required=True)
    register = device_sub.add_parser(
        "register",
        help="issue a certificate for an appliance",
        description="Issue a key and a certificate (CN = THING) signed by the local CA, "
        "the local counterpart of AWS IoT's create-keys-and-certificate and attach-policy: "
        "with `faultline up --tls` it may publish on dt/repair/THING/fault and receive "
        "cmd/repair/THING/status, nothing else. Prints the file paths.",
    )
    register.add_argument("thing", help="the appliance's thing name")
    register.add_argument("--renew", action="store_true", help="replace an existing certificate")
    _pki_dir_option(register)
    register.set_defaults(func=cmd_device_register)

    dlq = sub.add_parser(
        "dlq",
        help="the ingest dead-letter queue of a running local stack: list, replay",
        description="List the ingest dead-letter queue (function, error, attempts, the "
        "event's thing and event id), or replay it through the replay function's SQS "
        "consumer as Lambda's poller would; no event opens a second order.",
    )
    dlq.add_argument("dlq_command", choices=["list", "replay"])
    _running_stack_options(dlq)
    dlq.add_argument("--json", action="store_true", help="print JSON")
    dlq.set_defaults(func=cmd_dlq)

    outbox = sub.add_parser(
        "outbox",
        help="the notifications a running local stack sent (its local outbox)",
        description="List what the notifications topic of a running local stack "
        "(`faultline up`) delivered to its outbox queue: kind, recipient, home, order, "
        "title, text and the ticket's link, oldest first. In AWS the topic's subscriptions "
        "(e-mail, SMS, push) filter on the attributes kind, home_id and recipient.",
    )
    _running_stack_options(outbox)
    outbox.add_argument("--home", help="only this home's")
    outbox.add_argument("--order", help="only this order's")
    outbox.add_argument(
        "--kind",
        choices=[k.value for k in NotificationKind],
        help="only notifications of this kind",
    )
    outbox.add_argument("--json", action="store_true", help="print JSON (the notifications)")
    outbox.set_defaults(func=cmd_outbox)

    alarms = sub.add_parser(
        "alarms",
        help="the alarms of a running local stack, with the state the emulator keeps",
        description="List the alarms template.yaml declares as a running local stack "
        "(`faultline up`) has them: name, state, the metric each watches, its threshold and "
        "who is told (the operators' topic). The emulator stores alarms and their state but "
        "never evaluates them; exit 1 when an alarm of the template is missing there.",
    )
    _running_stack_options(alarms)
    alarms.add_argument("--json", action="store_true", help="print JSON (the alarms)")
    alarms.set_defaults(func=cmd_alarms)

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
