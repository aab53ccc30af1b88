# A thin layer over the `faultline` command. Every target creates the venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test up bench lint schemas clean build-IngestFaultFunction build-ApiFunction build-ReplayDeadLettersFunction build-SweepStuckOrdersFunction

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)  ## the main job: local stack + simulated fleet, ends with a table
	$(BIN)/faultline demo

test: $(STAMP) lint  ## ruff, mypy, then every test (end-to-end ones through a real broker)
	$(BIN)/pytest

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
build-IngestFaultFunction build-ApiFunction build-ReplayDeadLettersFunction build-SweepStuckOrdersFunction:
	$(PYTHON) -m infra.packaging requirements $(@:build-%=%) > "$(ARTIFACTS_DIR)/requirements.txt"
	$(PYTHON) -m pip install --quiet --target "$(ARTIFACTS_DIR)" -r "$(ARTIFACTS_DIR)/requirements.txt" \
		--platform manylinux2014_aarch64 --implementation cp --python-version 3.12 \
		--only-binary=:all:
	rm "$(ARTIFACTS_DIR)/requirements.txt"
	$(PYTHON) -m infra.packaging code $(@:build-%=%) "$(ARTIFACTS_DIR)"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
