import { describe, expect, it } from 'vitest';
import { type AuditEvent, EventAssembler } from '../../collector/assemble.js';
import { AuditRecord, parseAuditRecords } from '../../collector/audit-record.js';

const rec = (line: string) => parseAuditRecords(line)[0] as AuditRecord;
const line = (type: string, t: string, serial: number, body = 'x=1') =>
  `type=${type} msg=audit(${t}:${serial}): ${body}`;

function assemble(lines: string[], options = {}): { events: AuditEvent[]; a: EventAssembler } {
  const events: AuditEvent[] = [];
  const a = new EventAssembler((e) => events.push(e), options);
  for (const l of lines) a.push(rec(l));
  a.close();
  return { events, a };
}

const shape = (events: AuditEvent[]) =>
  events.map((e) => `${e.serial}:${e.records.map((r) => r.type).join(',')}:${e.completion}`);

describe('EventAssembler', () => {
  it('groups interleaved events by serial and ends each at EOE', () => {
    const { events } = assemble([
      line('SYSCALL', '10.000', 1),
      line('SYSCALL', '10.000', 2),
      line('AVC', '10.000', 1, 'avc:  denied  { read } for pid=1'),
      line('PATH', '10.000', 2),
      line('EOE', '10.000', 2, ''),
      line('EOE', '10.000', 1, ''),
    ]);
    expect(shape(events)).toEqual(['2:SYSCALL,PATH,EOE:last-record', '1:SYSCALL,AVC,EOE:last-record']);
  });

  it('a single-record type (USER_AVC, VIRT_*) is complete on arrival', () => {
    const emitted: AuditEvent[] = [];
    const a = new EventAssembler((e) => emitted.push(e));
    a.push(
      rec(
        line(
          'USER_AVC',
          '10.000',
          5,
          "pid=1 msg='avc:  denied  { send_msg } for scontext=a:b:c tcontext=a:b:c tclass=dbus'",
        ),
      ),
    );
    expect(emitted).toHaveLength(1);
    a.push(rec(line('VIRT_CONTROL', '10.000', 6, "msg='op=start'")));
    expect(emitted).toHaveLength(2);
  });

  it("times out an event when a later record is 2 s past it (auparse's eoe_timeout)", () => {
    const emitted: AuditEvent[] = [];
    const a = new EventAssembler((e) => emitted.push(e));
    a.push(rec(line('AVC', '10.000', 1, 'avc:  denied  { read } for pid=1')));
    a.push(rec(line('SYSCALL', '11.999', 2)));
    expect(emitted).toHaveLength(0);
    a.push(rec(line('SYSCALL', '12.000', 3)));
    expect(shape(emitted)).toEqual(['1:AVC:timeout']);
  });

  it('flushIdle emits a lone AVC (no EOE, as kernel threads write them) after a wall-clock idle bound', () => {
    const emitted: AuditEvent[] = [];
    const a = new EventAssembler((e) => emitted.push(e));
    a.push(rec(line('AVC', '10.000', 1, 'avc:  denied  { read } for pid=1')));
    a.flushIdle(10_100, 500);
    expect(emitted).toHaveLength(0);
    a.flushIdle(10_500, 500);
    expect(shape(emitted)).toEqual(['1:AVC:timeout']);
  });

  it('bounds memory: past maxInFlight the oldest event is forced out and counted', () => {
    const lines = Array.from({ length: 10 }, (_, i) => line('SYSCALL', '10.000', i + 1));
    const { events, a } = assemble(lines, { maxInFlight: 4 });
    expect(a.counters.evicted).toBe(6);
    expect(events.slice(0, 6).every((e) => e.completion === 'evicted')).toBe(true);
    expect(events.map((e) => e.serial)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('counts a duplicate record once and a record for an emitted event as late', () => {
    const { events, a } = assemble([
      line('SYSCALL', '10.000', 1),
      line('SYSCALL', '10.000', 1),
      line('EOE', '10.000', 1, ''),
      line('PATH', '10.000', 1),
    ]);
    expect(a.counters.duplicates).toBe(1);
    expect(a.counters.late).toBe(1);
    expect(shape(events)).toEqual(['1:SYSCALL,EOE:last-record', '1:PATH:flush']);
    expect(events[1]?.late).toBe(true);
  });

  it("a late record of host A's event is late even after host B emitted an event with the same serial", () => {
    const { events, a } = assemble([
      `node=hvA ${line('SYSCALL', '10.000', 7)}`,
      `node=hvA ${line('EOE', '10.000', 7, '')}`,
      `node=hvB ${line('SYSCALL', '10.000', 7)}`,
      `node=hvB ${line('EOE', '10.000', 7, '')}`,
      `node=hvA ${line('PATH', '10.000', 7)}`,
    ]);
    expect(a.counters.late).toBe(1);
    expect(events.map((e) => [e.node, e.records.map((r) => r.type).join(','), e.late ?? false])).toEqual([
      ['hvA', 'SYSCALL,EOE', false],
      ['hvB', 'SYSCALL,EOE', false],
      ['hvA', 'PATH', true],
    ]);
  });

  it('bounds an event: past maxRecordsPerEvent it is emitted and continued as a late event, nothing lost', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => line('PATH', '10.000', 7, `item=${i} name="/f${i}"`));
    lines.push(line('AVC', '10.000', 7, 'avc:  denied  { read } for pid=1'), line('EOE', '10.000', 7, ''));
    const { events, a } = assemble(lines);
    expect(events.map((e) => [e.records.length, e.completion, e.late])).toEqual([
      [4096, 'too-many-records', false],
      [4096, 'too-many-records', true],
      [1810, 'last-record', true],
    ]);
    expect(events.flatMap((e) => e.records.map((r) => r.raw))).toEqual(lines.map((l) => l.trimEnd()));
    expect(a.counters).toMatchObject({ records: 10_002, split: 2, late: 2, duplicates: 0 });
  });

  it('a long event still drops an exact copy of one of its lines (checked by set, not by scan)', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => line('PATH', '10.000', 8, `item=${i}`));
    const { events, a } = assemble([...lines, lines[5] as string, lines[2999] as string, line('EOE', '10.000', 8, '')]);
    expect(events).toHaveLength(1);
    expect(events[0]?.records).toHaveLength(3001);
    expect(a.counters.duplicates).toBe(2);
  });

  it('serial rollover (4294967295 then 0) keeps both events and is counted; gaps are counted', () => {
    const { events, a } = assemble([
      line('EOE', '10.000', 4294967294, ''),
      line('EOE', '10.001', 4294967295, ''),
      line('EOE', '10.002', 0, ''),
      line('EOE', '10.003', 3, ''),
    ]);
    expect(events.map((e) => e.serial)).toEqual([4294967294, 4294967295, 0, 3]);
    expect(a.counters.rollovers).toBe(1);
    expect(a.counters.serialGaps).toBe(2);
  });

  it('the same serial on two nodes is two events', () => {
    const { events } = assemble([`node=a ${line('SYSCALL', '10.000', 7)}`, `node=b ${line('SYSCALL', '10.000', 7)}`]);
    expect(events.map((e) => e.node)).toEqual(['a', 'b']);
  });

  it('after an ausearch separator PROCTITLE (printed first) no longer ends the event', () => {
    const events: AuditEvent[] = [];
    const a = new EventAssembler((e) => events.push(e));
    a.separator();
    for (const l of [
      line('PROCTITLE', '10.000', 9, 'proctitle=qemu'),
      line('SYSCALL', '10.000', 9),
      line('AVC', '10.000', 9, 'avc:  denied  { read } for pid=1'),
    ])
      a.push(rec(l));
    a.separator();
    expect(shape(events)).toEqual(['9:PROCTITLE,SYSCALL,AVC:flush']);
  });

  it('hands out every record exactly once and no event twice, with reused serials, timeouts and evictions', () => {
    // A seeded random stream: 20,000 events, several open at once, serials drawn from a
    // small range (so open events share serials), some ended by EOE and some left to time out.
    for (const maxInFlight of [64, 8192]) {
      let seed = 42;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const emitted: AuditEvent[] = [];
      const a = new EventAssembler((e) => emitted.push(e), { maxInFlight });
      const pending: string[][] = [];
      const sent = new Set<string>();
      for (let i = 0; i < 20_000 || pending.length > 0; i++) {
        if (i < 20_000) {
          const t = (10_000_000 + i * 7) / 1000;
          const serial = Math.floor(random() * 50);
          const node = random() < 0.2 ? 'node=b ' : '';
          const records = [`${node}${line('SYSCALL', t.toFixed(3), serial, `n=${i}`)}`];
          if (random() < 0.5) records.push(`${node}${line('PATH', t.toFixed(3), serial, `n=${i}`)}`);
          if (random() < 0.7) records.push(`${node}${line('EOE', t.toFixed(3), serial, `n=${i}`)}`);
          pending.push(records);
        }
        const at = Math.floor(random() * pending.length);
        const next = pending[at] as string[];
        const r = next.shift() as string;
        a.push(rec(r));
        sent.add(r);
        if (next.length === 0) pending.splice(at, 1);
      }
      a.close();
      expect(new Set(emitted).size).toBe(emitted.length);
      const got = emitted.flatMap((e) => e.records.map((r) => r.raw));
      expect(got.length).toBe(new Set(got).size);
      const notEoe = [...sent].filter((r) => !r.startsWith('type=EOE') && !r.includes(' type=EOE'));
      expect(got.filter((r) => !r.includes('type=EOE')).sort()).toEqual(notEoe.sort());
      if (maxInFlight === 8192) expect(a.counters.evicted).toBe(0);
      else expect(a.counters.evicted).toBeGreaterThan(0);
    }
  });
});
