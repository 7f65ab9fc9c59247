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

# JupyterLab reads overrides.json from <venv>/share/jupyter/lab/settings: no news pop-up in this environment
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

$(LAB_SETTINGS)/overrides.json: jupyter-lab-overrides.json $(STAMP)
	mkdir -p $(LAB_SETTINGS)
	cp jupyter-lab-overrides.json $@

lab: $(STAMP) $(LAB_SETTINGS)/overrides.json  ## set up and open JupyterLab on the repository (notebooks/ and student/)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

test: $(STAMP)  ## set up and run every test: ruff, unit tests, nbval over notebooks/
	$(BIN)/ruff check .
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
