# Two commands do everything (see README): `make lab` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
# What `make lab`/`make test` install: the package (editable) with these extras, every version from
# constraints.txt: lab = JupyterLab, test = the test tools, docs = the website, dev = pip-tools (make lock).
EXTRAS ?= lab,test,docs,dev
# Opt-in for Linux: TORCH_INDEX=cpu takes PyTorch's CPU-only build from PyTorch's own index instead of
# the CUDA build (several GB) that PyPI serves on Linux; another value is used as an index URL as is.
TORCH_INDEX ?=
TORCH_INDEX_URL := $(if $(filter cpu,$(TORCH_INDEX)),https://download.pytorch.org/whl/cpu,$(TORCH_INDEX))
PIP_INSTALL := $(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX_URL),--extra-index-url $(TORCH_INDEX_URL))
MATHJAX_VERSION := 3.2.2
MATHJAX := docs/_static/mathjax/tex-mml-chtml.js

.PHONY: lab test execute student-copies benchmark clean site lock mathjax install

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP_INSTALL) -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)  ## only set up .venv (TORCH_INDEX=cpu: PyTorch's CPU build on Linux)

# JupyterLab reads overrides.json from <venv>/share/jupyter/lab/settings: no news pop-up in this environment
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

$(LAB_SETTINGS)/overrides.json: jupyter-lab-overrides.json $(STAMP)
	mkdir -p $(LAB_SETTINGS)
	cp jupyter-lab-overrides.json $@

lab: $(STAMP) $(LAB_SETTINGS)/overrides.json  ## set up and open JupyterLab on the repository (notebooks/ and student/)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root)

test: $(STAMP) $(LAB_SETTINGS)/overrides.json  ## set up and run every test: ruff, import rules, unit tests, nbval over notebooks/
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

execute: $(STAMP)  ## re-execute every notebook in a fresh kernel, then strip volatile metadata (outputs kept)
	$(BIN)/python -m lecture_vae.classroom.notebooks setup-cell
	$(BIN)/python -m lecture_vae.classroom.notebooks execute
	$(BIN)/python -m lecture_vae.classroom.translate sync

site: $(STAMP) $(MATHJAX)  ## build the course website (English, and Korean in ko/) from the stored notebooks
	$(BIN)/python -m sphinx -b html -W --keep-going -q docs docs/_build/html
	$(BIN)/python -m sphinx -b html -W --keep-going -q -c docs -t ko docs/ko docs/_build/html/ko
	@echo "open docs/_build/html/index.html (Korean: docs/_build/html/ko/index.html)"

mathjax: $(MATHJAX)  ## a local copy of MathJax for the website (from the npm package; maths renders offline)
$(MATHJAX):
	npm install --silent --no-save --no-audit --no-fund --prefix build/npm mathjax@$(MATHJAX_VERSION)
	rm -rf docs/_static/mathjax && mkdir -p docs/_static/mathjax/output/chtml/fonts
	cp build/npm/node_modules/mathjax/es5/tex-mml-chtml.js docs/_static/mathjax/
	cp -r build/npm/node_modules/mathjax/es5/output/chtml/fonts/woff-v2 docs/_static/mathjax/output/chtml/fonts/
	cp build/npm/node_modules/mathjax/LICENSE docs/_static/mathjax/

lock: $(STAMP)  ## re-lock every package (all extras) into constraints.txt with pip-compile
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --all-extras --strip-extras --no-emit-index-url --no-emit-find-links \
	    --no-emit-trusted-host --no-emit-options \
	    --output-file constraints.txt pyproject.toml constraints.in
	sed -i.bak -E 's/^(torch==[^+ ]+)\+[^ ]*/\1/' constraints.txt && rm -f constraints.txt.bak  # any build of the pin

student-copies: $(STAMP)  ## write student copies (solutions emptied, outputs cleared) into student/
	$(BIN)/python -m lecture_vae.classroom.student student/
	$(BIN)/python -m lecture_vae.classroom.student student/ko --notebooks notebooks/ko

benchmark: $(STAMP)  ## speed and memory benchmarks on MNIST (needs LECTURE_VAE_DATA); prints ratios
	$(BIN)/python benchmarks/bench_speed.py
	$(BIN)/python benchmarks/bench_memory.py

clean:
	rm -rf $(VENV) docs/_build docs/notebooks docs/generated docs/_static/mathjax build/npm
