# What every scenario starts with (sourced first): where its results go (boot.sh gives
# each scenario its own out/NAME/), svirt-audit as installed in the guest, and its store.
set -u
out=$LAB_OUT
lib=/usr/local/lib/svirt-audit/node_modules/svirt-audit
sa() { SVIRT_AUDIT_NODE=/usr/local/bin/node "$lib/bin/svirt-audit" "$@"; }
DB=/var/lib/svirt-audit/audit.db
img=/var/lib/libvirt/images
step() { echo "== $(date +%T) $*"; }
