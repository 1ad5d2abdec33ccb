/**
 * Which denials were made under one allocation's label: the SQL condition every per-VM
 * answer and the report's evidence use (table alias `d`, parameters @host and @key: the
 * AppArmor profile or the SELinux categories). Each is a range of denial_by_profile or
 * denial_by_source once @from/@to bound the time.
 */
export function allocationLabelMatch(apparmor: boolean): string {
  return apparmor
    ? 'd.aa_profile = @key AND d.host_id = (SELECT id FROM host WHERE name = @host)'
    : 'd.host_id = (SELECT id FROM host WHERE name = @host) AND d.scategories = @key';
}
