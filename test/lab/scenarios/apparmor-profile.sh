# Scenario (AppArmor): a VM's profile libvirt-<uuid> (as virt-aa-helper names it) is loaded,
# its allocation recorded with svirt-audit; a process confined by that profile reads a
# file the profile does not allow; the kernel refuses it; svirt-audit, installed in the
# guest, must attribute the real AppArmor denial to the VM as kind apparmor-profile.
. /mnt/lab/scenarios/lab-env.sh
# Not the UUID of apparmor-libvirt.sh's guest: libvirt would fail to load its profile
# under a name this scenario loaded first in the same boot.
A=5b2e9f40-1c3d-4e5f-8a6b-7c8d9e0f1a2b
echo "apparmor enabled: $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)"

mkdir -p /var/lib/libvirt/images
echo "vm-a's disk" > /var/lib/libvirt/images/vm-a.img
echo "the host's secret" > /root/host-secret
# A profile like the ones virt-aa-helper writes: the VM's own disk and what a process needs
# to run; nothing else.
cat > /etc/apparmor.d/libvirt-$A <<PROFILE
profile libvirt-$A flags=(attach_disconnected) {
  /usr/bin/cat mr,
  /{usr/,}lib{,32,64}/** mr,
  /etc/ld.so.cache r,
  /var/lib/libvirt/images/vm-a.img r,
}
PROFILE
apparmor_parser -r /etc/apparmor.d/libvirt-$A && echo "profile loaded"
sa alloc --db "$DB" --uuid "$A" --vm vm-aa --model apparmor --label "libvirt-$A" || echo "alloc failed"

aa-exec -p "libvirt-$A" -- cat /var/lib/libvirt/images/vm-a.img
aa-exec -p "libvirt-$A" -- cat /root/host-secret
echo "read the host's file as vm-aa: exit $? (1: refused, as it must be)"

for _ in $(seq 50); do grep -q 'apparmor="DENIED".*host-secret' /var/log/audit/audit.log && break; sleep 0.2; done
sa ingest --db "$DB" /var/log/audit/audit.log
sa denials --db "$DB" --json > "$out/denials.json"
grep 'apparmor="DENIED"' /var/log/audit/audit.log | grep 'comm="node"' > "$out/own-avcs.log" || true
