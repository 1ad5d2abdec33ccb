# The lab guest's first step on the scenario disk (mounted at /mnt/lab): put Node and
# svirt-audit in place, labelled as the policy labels /usr/local, then run each scenario
# listed in scenarios.list in turn, as root in the boot service's domain (initrc_t under
# SELinux). Each gets a host as fresh as this boot can make it: serve stopped, no
# svirt-audit state, an audit log of its own (auditd rotates it first); what it wrote,
# its output and that audit log go to out/NAME/.
echo "boot context: $(id -Z 2>/dev/null)"
echo "enforcing: $(getenforce 2>/dev/null)"
echo "kernel: $(uname -r)"
dpkg-query -W -f '${Package} ${Version}\n' linux-image-amd64 auditd selinux-policy-default apparmor 2>/dev/null
cp /mnt/lab/node /usr/local/bin/node
cp -r /mnt/lab/svirt-audit /usr/local/lib/svirt-audit
command -v restorecon >/dev/null && restorecon -RF /usr/local/bin /usr/local/lib 2>/dev/null

# auditd starts a new audit.log (asynchronously: wait until the file is another one).
fresh_audit_log() {
  before=$(stat -c %i /var/log/audit/audit.log)
  auditctl --signal rotate > /dev/null || kill -USR1 "$(pidof auditd)"
  for _ in $(seq 50); do
    [ "$(stat -c %i /var/log/audit/audit.log 2>/dev/null)" != "$before" ] && return
    sleep 0.1
  done
  echo "auditd did not rotate its log"
}

while read -r scenario; do
  name=${scenario%.sh}
  mkdir -p "/mnt/lab/out/$name"
  systemctl stop svirt-audit 2>/dev/null
  rm -rf /var/lib/svirt-audit
  fresh_audit_log
  started=$(date +%s)
  LAB_OUT=/mnt/lab/out/$name sh "/mnt/lab/scenarios/$scenario" > "/mnt/lab/out/$name/scenario.log" 2>&1
  echo "$scenario: exit $?, $(( $(date +%s) - started )) s"
  cp /var/log/audit/audit.log "/mnt/lab/out/$name/audit.log"
done < /mnt/lab/scenarios.list
