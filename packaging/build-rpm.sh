#!/usr/bin/env bash
# Build the RPM from the staged layout (packaging/stage.sh) with rpmbuild (on Debian:
# apt-get install rpm). Usage: packaging/build-rpm.sh [OUTDIR]; prints the .rpm's path.
set -euo pipefail
. "$(dirname "$0")/package-vars.sh"
out=$(cd "${1:-$root}" && pwd)

top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
mkdir -p "$top"/{SOURCES,SPECS,BUILD,RPMS,SRPMS,tree}
"$here/stage.sh" "$top/tree"
install -m 0644 "$here/debian/copyright" "$top/tree/copyright"
tar -C "$top/tree" -czf "$top/SOURCES/svirt-audit-tree.tar.gz" .
rpmbuild --quiet -bb "$here/rpm/svirt-audit.spec" \
  --define "_topdir $top" --define "pkg_version $version" \
  --define "node_major $node_major" --define "node_next $((node_major + 1))" \
  --define '_build_id_links none' > /dev/null
rpm=$(find "$top/RPMS" -name '*.rpm' | head -1)
cp "$rpm" "$out/"
echo "$out/$(basename "$rpm")"
