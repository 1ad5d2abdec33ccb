/**
 * Audit lines written by hand from the documented format (kernel AVC + SYSCALL + EOE),
 * one svirt denial per event with a unique serial, for tests that need volume or a
 * writer appending at a steady rate.
 */

export const BASE_TIME = 1_763_719_200; // 2025-11-21T10:00:00Z

/** The three records of event number `serial` (time advances 10 ms per event). */
export function eventLines(serial: number, node?: string): string[] {
  const t = BASE_TIME * 1000 + serial * 10;
  const stamp = `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:${serial}`;
  const prefix = node ? `node=${node} ` : '';
  const cats = `c${serial % 500},c${500 + (serial % 500)}`;
  return [
    `${prefix}type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=${1000 + (serial % 50)} comm="qemu-kvm" name="disk${serial}.qcow2" dev="dm-0" ino=${serial} scontext=system_u:system_r:svirt_t:s0:${cats} tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0`,
    `${prefix}type=SYSCALL msg=audit(${stamp}): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7f items=1 ppid=1 pid=${1000 + (serial % 50)} auid=4294967295 uid=107 gid=107 comm="qemu-kvm" exe="/usr/libexec/qemu-kvm" subj=system_u:system_r:svirt_t:s0:${cats} key=(null)`,
    `${prefix}type=EOE msg=audit(${stamp}):`,
  ];
}

/** Events first..last as one text, newline-terminated. */
export function eventsText(first: number, last: number, node?: string): string {
  const out: string[] = [];
  for (let s = first; s <= last; s++) out.push(...eventLines(s, node));
  return `${out.join('\n')}\n`;
}

/** The (time, serial) keys of events first..last, as the store holds them. */
export function eventKeys(first: number, last: number): string[] {
  const keys: string[] = [];
  for (let s = first; s <= last; s++) keys.push(`${BASE_TIME * 1000 + s * 10}:${s}`);
  return keys;
}
