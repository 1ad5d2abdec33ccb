#!/usr/bin/env bash
# Stage the installed layout that the Debian package and the RPM both ship, under DEST:
#   /usr/lib/svirt-audit            the program, its production node_modules built for
#                                   this machine's Node (the packages' Depends/Requires
#                                   name its major version), the native addon
#   /usr/bin/svirt-audit            a link to it
#   /usr/lib/systemd/system/        svirt-audit.service (not enabled by the package)
#   /etc/audit/plugins.d/           svirt-audit.conf, active = no until the admin says so
#   /usr/share/svirt-audit/selinux/ the SELinux policy module (CIL) for the hook
#   /usr/share/doc/svirt-audit/     README and docs
# Uses the built tree (npm run build) and the addons `npm ci` built in the repository, so
# nothing is compiled twice. Usage: packaging/stage.sh DEST
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:?usage: packaging/stage.sh DEST}
[ -f "$root/dist/cli/main.js" ] || { echo "stage.sh: dist/ is missing: run npm run build" >&2; exit 1; }
sqlite_addon=$root/node_modules/better-sqlite3/build/Release/better_sqlite3.node
native_addon=$root/native/build/Release/svirt_native.node
for f in "$sqlite_addon" "$native_addon"; do
  [ -f "$f" ] || { echo "stage.sh: $f is missing: run npm ci" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && npm pack --silent --ignore-scripts --pack-destination "$work" > /dev/null)
tar -xzf "$work"/svirt-audit-*.tgz -C "$work"

lib=$dest/usr/lib/svirt-audit
rm -rf "$lib"
mkdir -p "$lib"
cp -a "$work/package/." "$lib/"
cp "$root/package-lock.json" "$lib/"
# Production dependencies at the locked versions; their addons are copied from the
# repository's tree (built by npm ci for the same Node) instead of compiled again.
(cd "$lib" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error > /dev/null)
install -D -m 0644 "$sqlite_addon" "$lib/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
install -D -m 0644 "$native_addon" "$lib/native/build/Release/svirt_native.node"
rm -rf "$lib/docs" "$lib/README.md" "$lib/package-lock.json" "$lib/node_modules/.package-lock.json"
rm -rf "$lib/node_modules/better-sqlite3/deps" "$lib/node_modules/better-sqlite3/src"
# What the dependencies carry for their own development, and what only built the addons
# (they are copied in built): not shipped. Modes normalised (some packages mark every
# file executable).
modules=$lib/node_modules
rm -rf "$modules/node-addon-api" "$modules/prebuild-install"
find "$modules" -depth -type d \( -name test -o -name tests -o -name benchmarks -o -name bench -o -name example \
  -o -name examples -o -name .github -o -name .husky -o -name integration -o -name docs \) -exec rm -rf {} +
find "$modules" -type f \( -name '*.md' -o -name '*.ts' ! -name '*.d.ts' -o -name '.*' -o -name '*.map' \) -delete
find "$modules" -type f -empty -delete
find "$modules" -type f ! -name '*.node' -exec chmod 0644 {} +
rm -rf "$modules/.bin"
find "$lib" -name '*.node' -exec strip --strip-unneeded {} +
# Run by bin/svirt-audit with the node it chose; a direct run uses the distribution's node.
sed -i '1s|^#!/usr/bin/env node$|#!/usr/bin/node|' "$lib/bin/svirt-audit.js"

mkdir -p "$dest/usr/bin"
ln -sfn ../lib/svirt-audit/bin/svirt-audit "$dest/usr/bin/svirt-audit"

install -D -m 0644 /dev/stdin "$dest/usr/lib/systemd/system/svirt-audit.service" < <(
  sed -e 's|/usr/local/bin/svirt-audit|/usr/bin/svirt-audit|' \
    -e 's|file:///usr/local/lib/svirt-audit/docs/api.md|file:///usr/share/doc/svirt-audit/api.md|' \
    -e '/^# Install: cp /,/^# Adjust ExecStart/c\# Installed by the svirt-audit package, not enabled: systemctl enable --now svirt-audit\n# Retention: 90 days of denials and at' \
    "$root/docs/systemd/svirt-audit.service"
)
install -D -m 0640 /dev/stdin "$dest/etc/audit/plugins.d/svirt-audit.conf" < <(
  sed -e 's|^active = yes|active = no|' -e 's|/usr/local/bin/svirt-audit|/usr/bin/svirt-audit|' \
    -e 's|^# auditd dispatcher plugin for svirt-audit. Copy to .*|# auditd dispatcher plugin for svirt-audit, installed inactive: set active = yes|' \
    -e 's|^# (audit >= 3.0; /etc/audisp/plugins.d/ on older systems) and reload auditd:|# and reload auditd:|' \
    "$root/docs/auditd/svirt-audit.conf"
)
install -D -m 0644 "$root/docs/selinux/svirt-audit.cil" "$dest/usr/share/svirt-audit/selinux/svirt-audit.cil"
install -d "$dest/usr/share/doc/svirt-audit"
install -m 0644 "$root/README.md" "$root"/docs/*.md "$dest/usr/share/doc/svirt-audit/"
install -d "$dest/usr/share/doc/svirt-audit/prometheus"
install -m 0644 "$root"/docs/prometheus/* "$dest/usr/share/doc/svirt-audit/prometheus/"
