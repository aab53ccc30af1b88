# A thin layer over the `faultline` command. Every target creates the venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test up bench lint scan schemas clean build-IngestFaultFunction build-ApiFunction build-ReplayDeadLettersFunction build-SweepStuckOrdersFunction

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# checkov (the security scanner over template.yaml) pins an older boto3, networkx and
# packaging than the project's: it gets a venv of its own inside .venv, with the exact
# versions of requirements-checkov.txt; tests/infra/test_checkov.py runs it from there.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp
CHECKOV_ENV := CKV_SKIP_PACKAGE_UPDATE_CHECK=true

$(CHECKOV_STAMP): requirements-checkov.txt $(STAMP)
	$(BIN)/python -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

demo: $(STAMP)  ## the main job: local stack + simulated fleet, ends with a table
	$(BIN)/faultline demo

test: $(STAMP) $(CHECKOV_STAMP) lint  ## ruff, mypy, then every test (end-to-end ones through a real broker; checkov over template.yaml)
	$(BIN)/pytest

scan: $(CHECKOV_STAMP)  ## checkov over template.yaml, as tests/infra/test_checkov.py runs it
	$(CHECKOV_ENV) $(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --compact --skip-download

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

up: $(STAMP)  ## the local stack on fixed ports, until Ctrl-C
	$(BIN)/faultline up

bench: $(STAMP)
	$(BIN)/faultline bench
	$(BIN)/faultline bench diagnosis

schemas: $(STAMP)  ## regenerate schemas/json from the pydantic models
	$(BIN)/faultline schemas

# `sam build` runs these (template.yaml: Metadata BuildMethod makefile) with ARTIFACTS_DIR
# set: the function's handler and what it imports (infra/packaging.py, which reads the
# handler from template.yaml: PyYAML needed) plus the third-party packages it imports, built
# for the Lambda runtime; nothing else.
# The functions' runtime (template.yaml: Runtime python3.12; a test checks they agree).
LAMBDA_PYTHON := 3.12
build-IngestFaultFunction build-ApiFunction build-ReplayDeadLettersFunction build-SweepStuckOrdersFunction:
	$(PYTHON) -m infra.packaging requirements $(@:build-%=%) > "$(ARTIFACTS_DIR)/requirements.txt"
	$(PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)" -r "$(ARTIFACTS_DIR)/requirements.txt" \
		--platform manylinux2014_aarch64 --implementation cp --python-version $(LAMBDA_PYTHON) \
		--only-binary=:all:
	rm "$(ARTIFACTS_DIR)/requirements.txt"
	$(PYTHON) -m infra.packaging code $(@:build-%=%) "$(ARTIFACTS_DIR)"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +
	@# Bytecode for the runtime's Python: Lambda cannot write it into /var/task, so without it
	@# every cold start compiles every module it imports (`faultline bench` shows the cost).
	@# Only a $(LAMBDA_PYTHON) interpreter writes bytecode that runtime uses: `sam build
	@# --use-container` runs this target in the $(LAMBDA_PYTHON) build image.
	@if $(PYTHON) -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" != "$(LAMBDA_PYTHON)")'; then \
		$(PYTHON) -m compileall -q --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"; \
	else \
		echo "warning: $(PYTHON) is not Python $(LAMBDA_PYTHON): $(@:build-%=%) ships without bytecode (use sam build --use-container)"; \
	fi

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
