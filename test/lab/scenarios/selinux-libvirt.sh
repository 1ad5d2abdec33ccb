# Scenario (SELinux, enforcing, real libvirtd and QEMU): svirt-audit installed as an admin
# would (install-hook, serve under the shipped systemd unit, collecting live); guests
# started by libvirt under TCG; the kernel refuses their QEMU processes real accesses:
# another guest's disk (cross-vm), a disk with a non-virt label (unlabeled-target), a file
# still carrying a stopped guest's categories (stale-label), the same cross-VM access with
# svirt_t permissive; a guest started with the hook removed is learned from libvirt's own
# audit records. Each step writes what it saw to out/; the test asserts on it.
set -u
out=/mnt/lab/out
lib=/usr/local/lib/svirt-audit/node_modules/svirt-audit
sa() { SVIRT_AUDIT_NODE=/usr/local/bin/node "$lib/bin/svirt-audit" "$@"; }
DB=/var/lib/svirt-audit/audit.db
img=/var/lib/libvirt/images
step() { echo "== $(date +%T) $*"; }

# Waits until `sa denials --json` (asked of the store serve writes) matches PATTERN; writes
# the answer to out/NAME.json and the milliseconds it took since START to out/NAME-ms.txt.
# (Each poll starts the CLI, a second or two under TCG: bounded by time, not by count.)
await_denial() {
  name=$1 pattern=$2 start=$3 deadline=$(( $(date +%s) + 30 ))
  while :; do
    sa denials --db "$DB" --json > "$out/$name.json" 2>/dev/null
    grep -q "$pattern" "$out/$name.json" && break
    [ "$(date +%s)" -ge "$deadline" ] && { echo "no denial matching $pattern after 30 s"; break; }
    sleep 0.25
  done
  echo $(( ($(date +%s%N) - start) / 1000000 )) > "$out/$name-ms.txt"
}

define_guest() {
  name=$1 uuid=$2
  truncate -s 1M "$img/$name.img"
  cat > "/tmp/$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name><uuid>$uuid</uuid>
  <memory unit='MiB'>32</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$img/$name.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
  <seclabel type='dynamic' model='selinux' relabel='yes'/>
</domain>
XML
  virsh -q define "/tmp/$name.xml"
}

# A hot-plug of FILE into GUEST that tells libvirt not to relabel it: QEMU opens it with
# the label it has, and the kernel decides.
plug() {
  guest=$1 file=$2 dev=$3
  cat > "/tmp/plug-$dev.xml" <<XML
<disk type='file' device='disk'>
  <driver name='qemu' type='raw'/>
  <source file='$file'><seclabel model='selinux' relabel='no'/></source>
  <target dev='$dev' bus='virtio'/>
</disk>
XML
  virsh attach-device "$guest" "/tmp/plug-$dev.xml" --live
  echo "attach $file to $guest: exit $?"
}

categories_of() { virsh dominfo "$1" | sed -n 's/^Security label: *[^ ]*:s0:\([^ ]*\) .*/\1/p'; }

step "install: svirt-audit's policy module, serve under the shipped unit, the hook"
# virsh is the admin's client, not under test: started from this boot service it runs as
# virsh_t, which may not write the lab disk (unlabeled) nor map memory executable. An
# admin's login shell is not refused that; here virsh_t is made permissive (in the same
# policy build as our module, docs/selinux/svirt-audit.cil, installed as docs/lab.md says).
echo '(typepermissive virsh_t)' > /tmp/permissive_virsh_t.cil
t0=$(date +%s)
semodule -i /tmp/permissive_virsh_t.cil "$lib/docs/selinux/svirt-audit.cil"
echo "semodule: $(( $(date +%s) - t0 )) s"
ln -sf "$lib/bin/svirt-audit" /usr/local/bin/svirt-audit
cp "$lib/docs/systemd/svirt-audit.service" /etc/systemd/system/
systemctl daemon-reload
systemctl start svirt-audit
svirt-audit install-hook --db "$DB"
restorecon -RF /etc/libvirt/hooks /var/lib/svirt-audit
ls -Z /etc/libvirt/hooks/qemu.d/ /var/lib/svirt-audit
# libvirt's private mount namespace for QEMU needs unmounts Debian's policy refuses
# virtd_t (tmpfs, devpts, hugetlbfs: "Cannot delete directory …shm: Device or resource
# busy", every start fails): a gap between libvirt and the policy, not ours. Turned off.
echo 'namespaces = [ ]' >> /etc/libvirt/qemu.conf
systemctl restart libvirtd
systemctl is-active svirt-audit libvirtd > "$out/services.txt"

step "1. two guests start"
define_guest vm-a 11111111-2222-4333-8444-555555555555
define_guest vm-b 66666666-7777-4888-8999-aaaaaaaaaaaa
define_guest vm-c 0c0c0c0c-1111-4222-8333-444444444444
define_guest vm-d 0d0d0d0d-1111-4222-8333-444444444444
virsh start vm-a && virsh start vm-b
for vm in vm-a vm-b; do virsh dominfo "$vm" | grep -E '^(Name|Security)'; done > "$out/dominfo.txt"
ps -eZ | grep qemu-system > "$out/ps-z.txt"
ls -Z "$img" > "$out/images-z.txt"
sa allocations --db "$DB" --json > "$out/allocations-started.json"

step "2. cross-vm: vm-b's disk hot-plugged into vm-a, relabel='no'"
start=$(date +%s%N)
plug vm-a "$img/vm-b.img" vdb
await_denial cross-vm vm-b.img "$start"

step "3. unlabeled target: a disk labelled default_t"
mkdir -p /srv/disks && truncate -s 1M /srv/disks/plain.img
chcon -t default_t /srv/disks/plain.img
ls -Z /srv/disks/plain.img
start=$(date +%s%N)
plug vm-a /srv/disks/plain.img vdc
await_denial unlabeled plain.img "$start"

step "4. stale label: a file still labelled with stopped vm-c's categories"
virsh start vm-c
stale=$(categories_of vm-c)
echo "vm-c held $stale"
virsh destroy vm-c
truncate -s 1M "$img/stale.img"
chcon -t svirt_image_t -l "s0:$stale" "$img/stale.img"
ls -Z "$img/stale.img"
start=$(date +%s%N)
plug vm-a "$img/stale.img" vdd
await_denial stale stale.img "$start"

step "6. learned: vm-d started while the hook is removed"
mv /etc/libvirt/hooks/qemu.d/svirt-audit /root/svirt-audit.hook
systemctl restart libvirtd
virsh start vm-d
start=$(date +%s%N)
plug vm-d "$img/vm-b.img" vdb
await_denial learned "svirt_t:s0:$(categories_of vm-d)\"" "$start"
sa allocations --db "$DB" --vm vm-d --json > "$out/allocations-learned.json"
mv /root/svirt-audit.hook /etc/libvirt/hooks/qemu.d/svirt-audit
systemctl restart libvirtd
virsh destroy vm-d
virsh start vm-d
sleep 1
sa allocations --db "$DB" --vm vm-d --json > "$out/allocations-restarted.json"
virsh dominfo vm-d | grep '^Security label' > "$out/dominfo-d.txt"

step "5. permissive: svirt_t permissive, the same cross-VM access"
t0=$(date +%s)
echo '(typepermissive svirt_t)' > /tmp/permissive_svirt_t.cil
semodule -i /tmp/permissive_svirt_t.cil
echo "semodule: $(( $(date +%s) - t0 )) s"
start=$(date +%s%N)
plug vm-a "$img/vm-b.img" vde
await_denial permissive '"permissive": *true' "$start"
semodule -r permissive_svirt_t

step "9. the incident report"
sa report --db "$DB" --vm vm-a --format json --out "$out/report.json"
sa report verify "$out/report.json" > "$out/verify.txt" 2>&1

step "shut down"
virsh destroy vm-a; virsh destroy vm-b; virsh destroy vm-d
systemctl stop svirt-audit
journalctl -u svirt-audit -u libvirtd --no-pager > "$out/journal.txt" 2>&1
sa allocations --db "$DB" --json > "$out/allocations.json"
# Every AVC whose source is not a guest's QEMU, for the note; those of svirt-audit's own
# processes (the hook and serve run as node) must be none.
grep -E 'type=(AVC|USER_AVC)' /var/log/audit/audit.log | grep -v 'scontext=system_u:system_r:svirt_t' > "$out/other-avcs.log"
grep -E 'comm="(node|svirt-audit)"' "$out/other-avcs.log" > "$out/own-avcs.log" || true
