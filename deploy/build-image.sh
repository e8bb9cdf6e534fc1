#!/usr/bin/env bash
# build-image.sh builds the container image of the TMS server with podman:
# a static tms binary (CGO_ENABLED=0) in an image FROM scratch
# (deploy/Containerfile).
#
#   deploy/build-image.sh [--binary FILE] [TAG]
#
# TAG defaults to localhost/tms:latest; --binary takes a tms binary built
# with CGO_ENABLED=0 instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=""
if [[ ${1:-} == --binary ]]; then
	binary=${2:?--binary needs a FILE}
	shift 2
fi
tag=${1:-localhost/tms:latest}

context=$(mktemp -d /tmp/tms-image.XXXXXX)
trap 'rm -rf "$context"' EXIT
if [[ -n $binary ]]; then
	cp "$binary" "$context/tms"
else
	CGO_ENABLED=0 go build -trimpath -o "$context/tms" ./cmd/tms
fi
mkdir -m 0700 "$context/root"
mkdir -m 1777 "$context/tmp"
# Authorities for outgoing TLS (PostgreSQL, OpenID providers, LDAP).
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
	cp /etc/ssl/certs/ca-certificates.crt "$context/"
else
	echo "build-image.sh: /etc/ssl/certs/ca-certificates.crt is missing (Debian: apt-get install ca-certificates)" >&2
	exit 1
fi
podman build --format docker --file deploy/Containerfile --tag "$tag" "$context"
