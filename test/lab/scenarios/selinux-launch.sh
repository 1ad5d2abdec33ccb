# Scenario (SELinux, enforcing, no libvirt): `launch` as a management stack would run it,
# from libvirt's own domain (virtd_t): it allocates, relabels the VM's disk for real, and
# execs its command in place into svirt_t:s0:cX,cY. The command (a `tail -f` labelled as
# QEMU's binary, so that it may enter svirt_t) reads its own disk and another VM's; the
# kernel refuses the second, and svirt-audit attributes that to the launched VM. When the
# process is gone, `reap` restores every label. Each step writes what it saw to out/.
. /mnt/lab/scenarios/lab-env.sh

step "install: svirt-audit's policy module (as docs/libvirt-hook.md says), unless it is installed"
t0=$(date +%s)
semodule -l | grep -qx svirt-audit || semodule -i "$lib/docs/selinux/svirt-audit.cil"
echo "semodule: $(( $(date +%s) - t0 )) s"
mkdir -p /var/lib/svirt-audit "$img"
restorecon -RF /var/lib/svirt-audit
# A shell in virtd_t (the domain that launches QEMU on a libvirt host) and a program that
# may enter svirt_t (QEMU's label on a copy of tail).
cp /bin/sh /usr/local/bin/virtd-sh && chcon -t virtd_exec_t /usr/local/bin/virtd-sh
cp /usr/bin/tail /usr/local/bin/qemu-tail && chcon -t qemu_exec_t /usr/local/bin/qemu-tail

step "the disks: vm-l's own, and vm-o's (another VM, recorded with its label)"
truncate -s 1M "$img/vm-l.img" "$img/vm-o.img"
restorecon "$img/vm-l.img"
chcon -t svirt_image_t -l s0:c900,c901 "$img/vm-o.img"
sa alloc --db "$DB" --uuid 0e0e0e0e-1111-4222-8333-444444444444 --vm vm-o \
  --label system_u:system_r:svirt_t:s0:c900,c901 > /dev/null || echo "alloc vm-o failed"
ls -Z "$img" > "$out/before-z.txt"

# Replaces the (sub)shell it runs in: `(launch …) &` leaves $! the pid the command ends up with.
launch() {
  exec /usr/local/bin/virtd-sh -c "SVIRT_AUDIT_JIT=off SVIRT_AUDIT_NODE=/usr/local/bin/node exec $lib/bin/svirt-audit launch --db $DB $*"
}

step "the launch gate: --require-enforcing on a permissive host refuses, relabelling nothing"
setenforce 0
# (Through a pipe: virtd_t may not write the lab's unlabelled out/ disk.)
{ (launch --require-enforcing --uuid 0a0a0a0a-1111-4222-8333-444444444444 --vm vm-g --disk "$img/vm-l.img" \
    -- /usr/local/bin/qemu-tail -f "$img/vm-l.img") < /dev/null 2>&1; echo "exit $?"; } | cat > "$out/gate-permissive.txt"
ls -Z "$img" > "$out/gate-z.txt"
setenforce 1

step "launch, from virtd_t, on the enforcing host (the gate lets it start)"
(launch --require-enforcing \
  --uuid 0f0f0f0f-1111-4222-8333-444444444444 --vm vm-l --disk $img/vm-l.img \
  -- /usr/local/bin/qemu-tail -f $img/vm-l.img $img/vm-o.img) < /dev/null > /dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q svirt_t "/proc/$pid/attr/current" 2>/dev/null && break; sleep 0.1; done
tr -d '\0' < "/proc/$pid/attr/current" > "$out/launch-context.txt"
tr '\0' ' ' < "/proc/$pid/cmdline" > "$out/launch-cmdline.txt"
ps -eZ | grep qemu-tail > "$out/ps-z.txt"
ls -Z "$img" > "$out/during-z.txt"
echo "$pid" > "$out/launch-pid.txt"
for _ in $(seq 50); do grep -q 'avc:.*denied.*vm-o.img' /var/log/audit/audit.log && break; sleep 0.2; done

step "the process ends; reap"
kill "$pid"; wait "$pid"
sa ingest --db "$DB" /var/log/audit/audit.log > /dev/null
sa denials --db "$DB" --json > "$out/denials.json"
sa reap --db "$DB" --json > "$out/reap.json"
ls -Z "$img" > "$out/after-z.txt"
sa allocations --db "$DB" --json > "$out/allocations.json"
grep -E 'type=(AVC|USER_AVC)' /var/log/audit/audit.log | grep -Ev 'scontext=system_u:system_r:svirt_(tcg_)?t' > "$out/other-avcs.log"
grep -E 'comm="(node|svirt-audit)"|svirt-audit' "$out/other-avcs.log" > "$out/own-avcs.log" || true
