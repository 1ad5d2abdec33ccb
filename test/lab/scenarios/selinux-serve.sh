# Scenario (SELinux, enforcing): `serve` runs under the shipped systemd unit, collecting
# the audit log live; a denial from VM A's label is in its store within seconds,
# attributed; svirt-audit's own processes are refused nothing.
. /mnt/lab/scenarios/lab-env.sh
A=11111111-2222-4333-8444-555555555555

ln -sf "$lib/bin/svirt-audit" /usr/local/bin/svirt-audit
cp "$lib/docs/systemd/svirt-audit.service" /etc/systemd/system/
systemctl daemon-reload
systemctl start svirt-audit
sleep 2
systemctl is-active svirt-audit > "$out/serve-active.txt"
for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" = node ] && tr -d '\0' < "$p/attr/current"; done > "$out/serve-context.txt"

sa alloc --db "$DB" --uuid "$A" --vm vm-a --label system_u:system_r:svirt_t:s0:c1,c2 || echo "alloc failed"
cp /bin/cat /usr/local/bin/qemu-cat && chcon -t qemu_exec_t /usr/local/bin/qemu-cat
cp /bin/sh /usr/local/bin/virtd-sh && chcon -t virtd_exec_t /usr/local/bin/virtd-sh
mkdir -p /var/lib/libvirt/images && echo "host data" > /var/lib/libvirt/images/other.img
chcon -t svirt_image_t -l s0:c7,c8 /var/lib/libvirt/images/other.img
started=$(date +%s%N)
/usr/local/bin/virtd-sh -c 'runcon -t svirt_t -l s0:c1,c2 /usr/local/bin/qemu-cat /var/lib/libvirt/images/other.img'
# Wait until serve has stored it (asked of the store the service writes).
for _ in $(seq 60); do
  sa denials --db "$DB" --json > "$out/denials.json" 2>/dev/null
  grep -q other.img "$out/denials.json" && break
  sleep 0.5
done
echo $(( ($(date +%s%N) - started) / 1000000 )) > "$out/seen-after-ms.txt"
journalctl -u svirt-audit --no-pager > "$out/serve-journal.txt" 2>&1
systemctl stop svirt-audit
grep -E 'type=(AVC|USER_AVC)' /var/log/audit/audit.log | grep 'comm="node"' > "$out/own-avcs.log" || true
