#!/usr/bin/env bash
# Build the Debian package from the staged layout (packaging/stage.sh) with dpkg-deb.
# Usage: packaging/build-deb.sh [OUTDIR]   (default: the repository's root); prints the .deb's path.
set -euo pipefail
. "$(dirname "$0")/package-vars.sh"
out=$(cd "${1:-$root}" && pwd)
arch=$(dpkg --print-architecture)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/tree
"$here/stage.sh" "$tree"
mkdir -p "$tree/DEBIAN"
# The newest glibc symbol version the addons link against (they are built on this machine).
glibc_min=$(find "$tree" -name '*.node' -exec objdump -T {} + | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' |
  sort -V | tail -1)
# The addons are built for this Node's ABI: the package needs the same major version.
sed -e "s/@VERSION@/$version-1/" -e "s/@ARCH@/$arch/" \
  -e "s/@NODE_MIN@/$node_major.11/" -e "s/@NODE_NEXT@/$((node_major + 1))/" \
  -e "s/@GLIBC_MIN@/$glibc_min/" -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$tree" | cut -f1)/" \
  "$here/debian/control" > "$tree/DEBIAN/control"
for script in postinst prerm postrm; do
  install -m 0755 "$here/debian/$script" "$tree/DEBIAN/$script"
done
install -m 0644 "$here/debian/conffiles" "$tree/DEBIAN/conffiles"
install -D -m 0644 "$here/debian/copyright" "$tree/usr/share/doc/svirt-audit/copyright"
deb=$out/svirt-audit_${version}-1_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$tree" "$deb" > /dev/null
echo "$deb"
