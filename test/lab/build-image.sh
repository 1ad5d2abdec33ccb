#!/usr/bin/env bash
# Builds a bootable Debian guest for the lab (FLAVOUR: selinux or apparmor) from Debian's
# packages with mmdebstrap, and prints the directory holding disk.img, vmlinuz and
# initrd.img. Cached outside the clone, under a key that hashes every input (this
# script, the package list, the files copied into the guest): a second run reuses it.
set -euo pipefail
flavour=${1:?usage: build-image.sh selinux|apparmor}
here=$(cd "$(dirname "$0")" && pwd)
cache=${SVIRT_AUDIT_LAB_CACHE:-/var/cache/svirt-audit-lab}

packages=(linux-image-amd64 systemd-sysv auditd attr libstdc++6 ca-certificates procps)
# libvirt and QEMU as a hypervisor host has them: the guests' own guests run under TCG.
packages+=(libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils)
case "$flavour" in
  selinux) packages+=(selinux-policy-default selinux-basics policycoreutils selinux-utils selinux-policy-dev checkpolicy make) ;;
  apparmor) packages+=(apparmor apparmor-utils) ;;
  *) echo "unknown flavour $flavour (selinux or apparmor)" >&2; exit 2 ;;
esac

key=$( { printf '%s\n' "$flavour" "${packages[@]}"; cat "$0" "$here"/guest/*; } | sha256sum | cut -c1-16)
out="$cache/$flavour-$key"
if [ -f "$out/disk.img" ]; then echo "$out"; exit 0; fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/build-$flavour.XXXXXX")
trap 'umount "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
started=$SECONDS
mmdebstrap --quiet --variant=apt --include="$(IFS=,; echo "${packages[*]}")" bookworm "$work/root" >&2
echo "lab: $flavour packages installed in $((SECONDS - started)) s" >&2

root="$work/root"
install -m 0755 "$here/guest/svirt-lab-run" "$root/usr/local/sbin/svirt-lab-run"
install -m 0644 "$here/guest/svirt-lab.service" "$root/etc/systemd/system/svirt-lab.service"
ln -sf /etc/systemd/system/svirt-lab.service "$root/etc/systemd/system/multi-user.target.wants/svirt-lab.service"
echo "lab-$flavour" > "$root/etc/hostname"
echo "/dev/vda / ext4 defaults 0 1" > "$root/etc/fstab"
# No console login prompt to wait for; the scenario unit powers the guest off.
ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"

if [ "$flavour" = selinux ]; then
  sed -i 's/^SELINUX=.*/SELINUX=enforcing/; s/^SELINUXTYPE=.*/SELINUXTYPE=default/' "$root/etc/selinux/config"
  mount -t proc proc "$root/proc"
  chroot "$root" setfiles -F /etc/selinux/default/contexts/files/file_contexts / >&2 || true
  umount "$root/proc"
fi

cp "$root"/boot/vmlinuz-* "$work/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/initrd.img"
mke2fs -q -t ext4 -d "$root" "$work/disk.img" 3G >&2
rm -rf "$root"
mkdir -p "$out"
mv "$work/disk.img" "$work/vmlinuz" "$work/initrd.img" "$out/"
echo "lab: $flavour image built in $((SECONDS - started)) s" >&2
echo "$out"
