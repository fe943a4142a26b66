# physarum-registry: a registry-service with its own etcd member. docs/deploy.md.
#
#   docker build -t physarum-registry .
#
# Where containers cannot reach PyPI, scripts/build-image.sh fills deploy/wheelhouse/
# on the host and passes --build-arg WHEELHOUSE_ONLY=1; the Dockerfile is the same.

FROM debian:bookworm-slim AS build
# A compiler and GMP for dependencies that PyPI has only as source (fastecdsa).
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv python3-dev gcc libc6-dev libgmp-dev \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY deploy/wheelhouse/ /wheelhouse/
COPY pyproject.toml README.md ./
COPY domain/ domain/
COPY application/ application/
COPY adapters/ adapters/
COPY entrypoints/ entrypoints/
ARG WHEELHOUSE_ONLY=
# Size (goal 250 MB): no C sources or stubs, stripped extensions, and the dependencies
# as bytecode only (compiled beside the sources, which go; ours keep theirs, so that
# our tracebacks show source lines).
RUN python3 -m venv /opt/physarum-registry \
    && /opt/physarum-registry/bin/pip wheel -q --disable-pip-version-check \
        ${WHEELHOUSE_ONLY:+--no-index} --find-links /wheelhouse --wheel-dir /wheels . \
    && /opt/physarum-registry/bin/pip install -q --disable-pip-version-check \
        --no-index --find-links /wheels physarum-registry \
    && /opt/physarum-registry/bin/python -m pip uninstall -q -y pip setuptools \
    && cd /opt/physarum-registry/lib/python3.11/site-packages \
    && find . \( -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name '*.pyx' -o -name '*.pxd' \
        -o -name '*.pyi' \) -delete \
    && rm -rf examples \
    && find . -name '*.so' -exec strip --strip-unneeded {} + \
    && python3 -m compileall -q -b -j 0 . \
    && find . -name __pycache__ -prune -exec rm -rf {} + \
    && find . -name '*.py' -not -path './domain/*' -not -path './application/*' \
        -not -path './adapters/*' -not -path './entrypoints/*' -delete \
    && find domain application adapters entrypoints -name '*.pyc' -delete \
    && python3 -m compileall -q domain application adapters entrypoints

FROM debian:bookworm-slim
# etcd-client brings etcdctl, which `registry-service snapshot restore` runs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 etcd-server etcd-client libgmp10 \
    && apt-get clean && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --uid 10001 --home-dir /var/lib/physarum-registry \
        --shell /usr/sbin/nologin registry \
    && install -d -o registry -g registry -m 0700 /var/lib/physarum-registry \
    && install -d -o registry -g registry -m 0755 /run/physarum-registry
COPY --from=build /opt/physarum-registry /opt/physarum-registry
COPY deploy/docker-entrypoint.sh /usr/local/bin/registry-entrypoint
# XDG_DATA_HOME puts the etcd data dir at /var/lib/physarum-registry/etcd-<member>,
# HOME the identity key at /var/lib/physarum-registry/.privKeyHashLookup: both on the volume.
ENV PATH=/opt/physarum-registry/bin:$PATH \
    HOME=/var/lib/physarum-registry \
    XDG_DATA_HOME=/var/lib \
    REGISTRY_LISTEN=/ip4/0.0.0.0/tcp/4001
USER registry
WORKDIR /var/lib/physarum-registry
VOLUME /var/lib/physarum-registry
EXPOSE 4001 9102
# Exit 0 healthy, 4 without quorum, 1 other trouble (the same --etcd-* flags as the daemon).
HEALTHCHECK --interval=10s --timeout=10s --start-period=120s --retries=3 \
    CMD ["registry-entrypoint", "status"]
ENTRYPOINT ["registry-entrypoint"]
