#!/bin/sh
# Installs the service for the current user.
set -eu
prefix="${PREFIX:-$HOME/.local}"
mkdir -p "$prefix/bin"
cp service "$prefix/bin/service"
chmod 755 "$prefix/bin/service"
echo "installed to $prefix/bin"
