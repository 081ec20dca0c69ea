# One image, both commands: `oci-operator run` (the operator) and `oci-operator bootserver` (the sidecar).
# They release together and share the API models; one image keeps them from drifting apart.
# The base is a build argument so the image can be built where no registry is reachable, from a
# locally made Debian base (hack/build-image does that with debootstrap and buildah).
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY crds ./crds
COPY operator ./operator
# The wheel, then a venv with it and its dependencies (the runtime stage copies only the venv).
# Behind a TLS-intercepting proxy, pass its CA as a build secret: --secret id=pip-ca,src=ca.pem.
RUN --mount=type=secret,id=pip-ca,required=false \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip wheel -q --no-cache-dir --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install -q --no-cache-dir /wheels/*.whl

FROM ${BASE}
# python3 for the venv; dnsmasq-base, ipxe and the netboot installer for the boot server.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3 ca-certificates dnsmasq-base ipxe debian-installer-12-netboot-amd64 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# A passwd entry for it: kopf names the process after the user (getpass), and a uid unknown to
# /etc/passwd crashed the operator in its pod.
RUN groupadd --system --gid 10001 oci-operator \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin oci-operator
# Numeric, so runAsNonRoot can verify it; the chart runs the boot server as root only when it serves DHCP.
USER 10001:10001
ENTRYPOINT ["oci-operator"]
CMD ["run"]
