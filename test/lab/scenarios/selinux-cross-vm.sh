# Scenario (SELinux, enforcing): two VMs' labels recorded with svirt-audit; a process
# running as VM A's svirt_t:s0:c1,c2 reads a file labelled with VM B's categories; the
# kernel refuses it; svirt-audit, installed in the guest, must attribute the real AVC to
# A (source) and B (target) as kind cross-vm. Runs as root from a boot service (initrc_t,
# the domain svirt-audit's own unit gets without a policy module of its own).
. /mnt/lab/scenarios/lab-env.sh
A=11111111-2222-4333-8444-555555555555
B=66666666-7777-4888-8999-aaaaaaaaaaaa

# The launch gate (the hook with SVIRT_AUDIT_REQUIRE_ENFORCING=1): refused while the host
# is permissive, allowed once it enforces. setenforce also logs the MAC_STATUS records
# reports use for the enforcing state at each denial.
cat > /tmp/gate.xml <<XML
<domain type='kvm'><name>gate</name><uuid>0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0</uuid>
<seclabel type='dynamic' model='selinux' relabel='yes'/></domain>
XML
setenforce 0
SVIRT_AUDIT_REQUIRE_ENFORCING=1 sa hook --db /tmp/gate.db qemu gate prepare begin - < /tmp/gate.xml 2> "$out/gate-permissive.txt"
echo "exit $?" >> "$out/gate-permissive.txt"
setenforce 1
SVIRT_AUDIT_REQUIRE_ENFORCING=1 sa hook --db /tmp/gate.db qemu gate prepare begin - < /tmp/gate.xml 2> "$out/gate-enforcing.txt"
echo "exit $?" >> "$out/gate-enforcing.txt"

sa alloc --db "$DB" --uuid "$A" --vm vm-a --label system_u:system_r:svirt_t:s0:c1,c2 || echo "alloc A failed"
sa alloc --db "$DB" --uuid "$B" --vm vm-b --label system_u:system_r:svirt_t:s0:c3,c4 || echo "alloc B failed"

# What QEMU would be: a copy of cat with QEMU's executable type (svirt_t's entry point),
# started the way libvirtd starts QEMU: from virtd_t (a copy of sh with libvirtd's type),
# which the policy lets move into svirt_t.
cp /bin/cat /usr/local/bin/qemu-cat
chcon -t qemu_exec_t /usr/local/bin/qemu-cat
cp /bin/sh /usr/local/bin/virtd-sh
chcon -t virtd_exec_t /usr/local/bin/virtd-sh
mkdir -p /var/lib/libvirt/images
echo "vm-b's data" > /var/lib/libvirt/images/vm-b.img
chcon -t svirt_image_t -l s0:c3,c4 /var/lib/libvirt/images/vm-b.img
ls -Z /usr/local/bin/qemu-cat /var/lib/libvirt/images/vm-b.img

# Run from a boot service (initrc_t), as libvirtd is: initrc_t → virtd_t on virtd_exec_t.
/usr/local/bin/virtd-sh -c \
  'id -Z; runcon -t svirt_t -l s0:c1,c2 /usr/local/bin/qemu-cat /var/lib/libvirt/images/vm-b.img'
echo "read as vm-a: exit $? (1: refused, as it must be)"

# auditd writes asynchronously: wait until the denial is in the log.
for _ in $(seq 50); do grep -q 'tcontext=system_u:object_r:svirt_image_t:s0:c3,c4' /var/log/audit/audit.log && break; sleep 0.2; done
sa ingest --db "$DB" /var/log/audit/audit.log
sa denials --db "$DB" --json > "$out/denials.json"
sa allocations --db "$DB" --json > "$out/allocations.json"
sa report --db "$DB" --vm vm-a --format json --out "$out/report.json"
sa report verify "$out/report.json" > "$out/verify.txt" 2>&1
# Denials of svirt-audit's own processes (node, the CLI) under the policy: the goal is none.
grep -E 'type=(AVC|USER_AVC)' /var/log/audit/audit.log | grep 'comm="node"' > "$out/own-avcs.log" || true
