# Shortcuts for people who have make; the README's commands need only Python.
.PHONY: serve test lint
serve:
	python3 manage.py serve
test:
	python3 manage.py test
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
