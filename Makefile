# Two commands do everything (see README): `make lab` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: lab test execute student-copies benchmark clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

lab: $(STAMP)  ## set up and open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

test: $(STAMP)  ## set up and run every test: ruff, import rules, unit tests, nbval over notebooks/
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

execute: $(STAMP)  ## re-execute every notebook in a fresh kernel, then strip volatile metadata (outputs kept)
	$(BIN)/python -m lecture_vae.classroom.notebooks execute

student-copies: $(STAMP)  ## write student copies (solutions emptied, outputs cleared) into student/
	$(BIN)/python -m lecture_vae.classroom.student student/

benchmark: $(STAMP)  ## speed and memory benchmarks on MNIST (needs LECTURE_VAE_DATA); prints ratios
	$(BIN)/python benchmarks/bench_speed.py
	$(BIN)/python benchmarks/bench_memory.py

clean:
	rm -rf $(VENV)
