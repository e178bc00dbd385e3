# The project's image for the Dask profile of docker-compose.yml (docs/executors.md): alertsim
# with the `dask` extra, so the scheduler, its workers and the command that submits to them run
# the same code. bokeh serves the scheduler's dashboard (port 8787).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dispatcher ./dispatcher
COPY simulation ./simulation
COPY loadtest ./loadtest
RUN pip install --no-cache-dir '.[dask]' 'bokeh>=3.1'
COPY scenarios ./scenarios
COPY config ./config
