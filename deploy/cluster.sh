#!/usr/bin/env bash
# Runs the `cluster` CLI from a fresh clone: bootstraps the machine (idempotent), builds the CLI
# once into artifacts/cli (rebuilt when sources are newer), then runs it with the given arguments.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/deploy/bootstrap.sh"
out="$root/artifacts/cli"
stamp="$out/.built"
if [ ! -f "$stamp" ] || [ -n "$(find "$root/src" "$root/Directory.Build.props" "$root/Directory.Packages.props" -newer "$stamp" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) -print -quit)" ]; then
  echo "[cluster.sh] building the CLI (Release) ..." >&2
  dotnet build "$root/src/Cluster.Cli/Cluster.Cli.csproj" -c Release -o "$out" -nologo -v q -clp:ErrorsOnly >&2
  touch "$stamp"
fi
exec "$out/cluster" "$@"
