# The lab guest's first step on the scenario disk (mounted at /mnt/lab): put Node and
# svirt-audit in place, labelled as the policy labels /usr/local, run scenario.sh as root
# in the boot service's domain (initrc_t under SELinux), and keep the guest's audit log.
echo "boot context: $(id -Z 2>/dev/null)"
echo "enforcing: $(getenforce 2>/dev/null)"
echo "kernel: $(uname -r)"
dpkg-query -W -f '${Package} ${Version}\n' linux-image-amd64 auditd selinux-policy-default apparmor 2>/dev/null
cp /mnt/lab/node /usr/local/bin/node
cp -r /mnt/lab/svirt-audit /usr/local/lib/svirt-audit
command -v restorecon >/dev/null && restorecon -RF /usr/local/bin /usr/local/lib 2>/dev/null
sh /mnt/lab/scenario.sh > /mnt/lab/out/scenario.log 2>&1
echo "scenario exit: $?"
cp /var/log/audit/audit.log /mnt/lab/out/audit.log
