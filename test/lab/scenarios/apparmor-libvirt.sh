# Scenario (AppArmor, real libvirtd and QEMU): svirt-audit installed as an admin would
# (install-hook, serve under the shipped systemd unit, collecting live); a guest started by
# libvirt under TCG (paused), confined by the libvirt-<uuid> profile virt-aa-helper writes
# for it; QEMU is made to open files its profile does not allow: a disk hot-plugged with
# relabel='no' for the apparmor model (libvirt then adds no rule for it, if it honours
# that), and a drive added through QEMU's monitor (libvirt is not asked, so no rule is
# added). Each step writes what it saw to out/; the test asserts on it.
. /mnt/lab/scenarios/lab-env.sh
. /mnt/lab/scenarios/libvirt-guests.sh
echo "apparmor enabled: $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)"

step "install: serve under the shipped unit, the hook"
ln -sf "$lib/bin/svirt-audit" /usr/local/bin/svirt-audit
cp "$lib/docs/systemd/svirt-audit.service" /etc/systemd/system/
systemctl daemon-reload
systemctl start svirt-audit
svirt-audit install-hook --db "$DB"
systemctl restart libvirtd
systemctl is-active svirt-audit libvirtd > "$out/services.txt"
grep -E '^ *security_driver' /etc/libvirt/qemu.conf || echo "security_driver: libvirt's default"

step "1. a guest starts, confined by its libvirt-<uuid> profile"
A=8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10
define_guest apparmor vm-aa "$A"
virsh start --paused vm-aa
virsh dominfo vm-aa | grep -E '^(Name|Security)' > "$out/dominfo.txt"
pid=$(pgrep -f 'qemu-system.*vm-aa' | head -1)
echo "qemu pid $pid" && cat "/proc/$pid/attr/current" > "$out/qemu-profile.txt" 2>&1
ls "/etc/apparmor.d/libvirt/" > "$out/profiles.txt" 2>&1
sa allocations --db "$DB" --json > "$out/allocations-started.json"

step "2. a disk hot-plugged with relabel='no' for the apparmor model"
mkdir -p /srv/disks
truncate -s 1M /srv/disks/norelabel.img
mark_denials
plug apparmor vm-aa /srv/disks/norelabel.img vdb
await_denial norelabel norelabel.img 10

step "3. a drive added through QEMU's monitor: no rule for it in the profile"
truncate -s 1M /srv/disks/outside.img
mark_denials
virsh qemu-monitor-command vm-aa --hmp 'drive_add 0 if=none,file=/srv/disks/outside.img,format=raw,id=outside'
await_denial outside outside.img

step "shut down"
virsh destroy vm-aa
systemctl stop svirt-audit
sa allocations --db "$DB" --json > "$out/allocations.json"
journalctl -u svirt-audit -u libvirtd --no-pager > "$out/journal.txt" 2>&1
# Every AppArmor denial, for the note; those of svirt-audit's own processes (the hook and
# serve run as node) must be none.
grep -E 'apparmor="DENIED"' /var/log/audit/audit.log > "$out/apparmor-denials.log"
grep -E 'comm="(node|svirt-audit)"|svirt-audit' "$out/apparmor-denials.log" > "$out/own-denials.log" || true
