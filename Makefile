.PHONY: install run test lint format migrate worker bench

export DJANGO_SETTINGS_MODULE := perpetua.settings

install:
	@scripts/bootstrap.sh

run: install
	@scripts/run.sh

test: install
	@scripts/ensure-redis.sh
	@scripts/with-postgres.sh .venv/bin/pytest $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

format: install
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

migrate: install
	.venv/bin/python manage.py migrate

worker: install
	.venv/bin/python manage.py run_worker

# The mixed workload against the production server (bench/bench.sh; LEVELS, DURATION, WARMUP, BENCH_REDIS).
bench: install
	@bench/bench.sh
