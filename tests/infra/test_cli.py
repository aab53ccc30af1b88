"""The `faultline` command's cheap sub-commands (the stack ones are covered end to end)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from faultline.cli import main
from functions.domain.catalog import catalog_files


def test_catalog_validate_passes_a_shipped_file(capsys):
    path = catalog_files()[0]
    assert main(["catalog", "validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok"


def test_catalog_validate_reports_every_error_with_its_place(tmp_path, capsys):
    broken = json.loads(catalog_files()[0].read_text())
    family = broken["families"][0]
    code = family["codes"][0]
    code["causes"][0]["prior"] = 0.99  # priors no longer sum to 1
    code["causes"][0]["parts"] = ["NO-SUCH-PART"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken))
    assert main(["catalog", "validate", str(bad)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) >= 2
    assert all(line.startswith(f"{bad}: code {code['code']}: ") for line in lines)
    assert any("NO-SUCH-PART" in line for line in lines)


def test_catalog_validate_names_a_file_that_is_not_json(tmp_path, capsys):
    bad = tmp_path / "oops.json"
    bad.write_text('{"schema": "catalog/1",')
    assert main(["catalog", "validate", str(bad)]) == 1
    assert str(bad) in capsys.readouterr().out


def test_schemas_check_finds_nothing_out_of_date(capsys):
    assert main(["schemas", "--check"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["up", "--help"],
        ["demo", "--help"],
        ["catalog", "validate", "--help"],
        ["bench", "--help"],
        ["bench", "diagnosis", "--help"],
        ["simulate", "--help"],
        ["outbox", "--help"],
        ["alarms", "--help"],
    ],
)
def test_every_command_explains_itself(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_the_console_script_is_installed():
    assert (Path(sys.executable).parent / "faultline").exists(), "pyproject.toml installs it"


def test_device_register_prints_the_files_and_refuses_a_second_issue(tmp_path, capsys):
    from iot.pki import common_name

    assert main(["device", "register", "washer-900-1", "--pki-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    cert = tmp_path / "clients" / "washer-900-1.pem"
    assert f"certificate  {cert}" in out
    assert f"private key  {tmp_path / 'clients' / 'washer-900-1.key'}" in out
    assert f"CA           {tmp_path / 'ca.pem'}" in out
    assert common_name(cert) == "washer-900-1"
    pem = cert.read_bytes()
    assert main(["device", "register", "washer-900-1", "--pki-dir", str(tmp_path)]) == 1
    assert "already has a certificate" in capsys.readouterr().err
    assert cert.read_bytes() == pem
    assert main(["device", "register", "washer-900-1", "--renew", "--pki-dir", str(tmp_path)]) == 0
    assert cert.read_bytes() != pem


@pytest.mark.parametrize("thing", ["dt/repair/x", "faultline-rules-engine", "wash+er"])
def test_device_register_refuses_a_name_that_is_not_a_thing(tmp_path, capsys, thing):
    assert main(["device", "register", thing, "--pki-dir", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (tmp_path / "clients").exists() or not list((tmp_path / "clients").iterdir())


def test_simulate_needs_ca_cert_and_key_together(tmp_path, capsys):
    assert main(["simulate", "--cert", str(tmp_path / "x.pem")]) == 2
    assert "--cafile, --cert and --key go together" in capsys.readouterr().err


def test_simulate_with_a_certificate_is_one_appliance(tmp_path, capsys):
    from iot.pki import CertificateAuthority

    issued = CertificateAuthority(tmp_path).issue_client("washer-900-1")
    tls = ["--cafile", str(issued.ca_file), "--cert", str(issued.cert_file)]
    assert main(["simulate", *tls, "--key", str(issued.key_file), "--count", "2"]) == 2
    assert "--count must be 1" in capsys.readouterr().err


def test_stack_commands_take_template_parameter_overrides():
    from faultline.cli import _options, build_parser

    args = build_parser().parse_args(
        ["up", "--parameter", "ApprovalExpirySeconds=90", "--parameter", "WebUrl=http://x:1"]
    )
    assert _options(args).parameters == {"ApprovalExpirySeconds": "90", "WebUrl": "http://x:1"}
    with pytest.raises(SystemExit):
        _options(build_parser().parse_args(["up", "--parameter", "no-equals-sign"]))
