/**
 * Every line of ../shared/corpus goes through the parser without an exception, and the
 * counts per file are what the files hold.
 *
 * How the expected numbers were made (not from our own output): records are the matches
 * of `((node|host)=\S+ )?type=\S+ (msg=)?audit\(\d+\.\d+:\d+\)(:| |$)` in each line (a line
 * with two records counts twice, the second taking the first's node), plus journald lines `audit[PID]: TYPE ` without an audit()
 * header; event keys are the distinct (node, time, serial) of those matches; unparsed are
 * the non-blank lines that are neither a record nor an ausearch `----`/`time->` line.
 * Late records (a key seen again after its event completed) and duplicates (the same line
 * twice within an event) were checked by hand: each duplicate count equals the number of
 * repeated lines in the file (`sort | uniq -d`), and each late record is a reused serial in
 * a concatenated test file, a SERVICE_START sharing its serial with a syscall event, or an
 * out-of-order fixture.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditStream } from '../../collector/audit-stream.js';
import { CORPUS, corpusAvailable } from '../helpers/fixtures.js';

// [file, records, distinct event keys, unparsed lines, late records, duplicate records]
// prettier-ignore
const EXPECTED: readonly (readonly [string, number, number, number, number, number])[] = [
  ['apparmor__libapparmor-testsuite-test_multi-ALL.in.txt', 165, 110, 194, 2, 0],
  ['apparmor__utils-test-logprof-ping.auditlog', 3, 2, 0, 0, 0],
  ['audit-userspace__auparse-test-test.log', 12, 7, 0, 0, 0],
  ['audit-userspace__auparse-test-test2.log', 12, 7, 0, 0, 0],
  ['audit-userspace__auparse-test-test3.log', 15, 8, 0, 0, 0],
  ['audit-userspace__auparse-test-test4.log', 13, 2, 0, 0, 0],
  ['beats__filebeat-module-auditd-log-test-test.log', 15, 15, 0, 0, 0],
  ['field_avcs.txt', 203, 85, 18, 0, 0],
  ['go-libaudit__aucoalesce-testdata-random-internet.yaml', 5, 2, 5, 0, 0],
  ['go-libaudit__aucoalesce-testdata-rhel-7-linux-3.10.0.yaml', 19, 10, 12, 0, 0],
  ['go-libaudit__aucoalesce-testdata-ubuntu-16.04-linux-4.13.0.yaml', 11, 2, 4, 0, 0],
  ['go-libaudit__aucoalesce-testdata-ubuntu-16.10-linux-4.8.0.yaml', 36, 14, 16, 1, 0],
  ['go-libaudit__aucoalesce-testdata-ubuntu-17.04-linux-4.10.0.yaml', 36, 15, 17, 0, 0],
  ['go-libaudit__aucoalesce-testdata-ubuntu-20.04.6-linux-5.15.0-1034-gcp.yaml', 5, 1, 4, 0, 0],
  ['go-libaudit__aucoalesce-testdata-ubuntu-21.10-linux-5.13.yaml', 10, 3, 8, 0, 0],
  ['go-libaudit__aucoalesce-testdata-ubuntu-24.04-linux-6.8.0.yaml', 1, 1, 4, 0, 0],
  ['go-libaudit__auparse-testdata-audit-rhel6.log', 2, 2, 0, 0, 0],
  ['go-libaudit__auparse-testdata-audit-rhel7.log', 49, 46, 1, 1, 0],
  ['go-libaudit__auparse-testdata-audit-ubuntu14.log', 1, 1, 0, 0, 0],
  ['go-libaudit__auparse-testdata-audit-ubuntu16.log', 3, 3, 0, 0, 0],
  ['go-libaudit__auparse-testdata-audit-ubuntu17.log', 1, 1, 0, 0, 0],
  ['go-libaudit__auparse-testdata-test2.log', 10, 7, 0, 0, 0],
  ['go-libaudit__auparse-testdata-test3.log', 17, 10, 0, 0, 0],
  ['go-libaudit__testdata-lost_messages.log', 17, 5, 0, 0, 0],
  ['go-libaudit__testdata-normal.log', 17, 5, 0, 0, 0],
  ['go-libaudit__testdata-out_of_order.log', 17, 5, 0, 1, 0],
  ['go-libaudit__testdata-rollover.log', 5, 5, 0, 0, 0],
  ['integrations__packages-auditd-data_stream-log-_dev-test-pipeline-test-auditd-raw.log', 46, 45, 1, 0, 0],
  ['laurel__fork-sleep-exec.txt', 13, 3, 14, 0, 0],
  ['laurel__line-user-acct.txt', 1, 1, 0, 0, 0],
  ['laurel__proc-trace-dpkg-l.txt', 68, 23, 5, 0, 0],
  ['laurel__record-adjntpval.txt', 3, 1, 0, 0, 0],
  ['laurel__record-anom-promiscuous.txt', 4, 1, 0, 1, 0],
  ['laurel__record-avc-apparmor.txt', 3, 1, 0, 0, 0],
  ['laurel__record-bind-ipv4-bigendian.txt', 4, 1, 0, 0, 0],
  ['laurel__record-connect.txt', 6, 2, 0, 0, 0],
  ['laurel__record-execve-long.txt', 9, 1, 0, 0, 0],
  ['laurel__record-execve.txt', 7, 1, 0, 0, 0],
  ['laurel__record-login.txt', 3, 1, 0, 0, 0],
  ['laurel__record-nscd.txt', 5, 1, 0, 0, 0],
  ['laurel__record-perl-reverse-shell.txt', 8, 1, 0, 0, 0],
  ['laurel__record-ptrace.txt', 3, 1, 0, 0, 0],
  ['laurel__record-service-start.txt', 5, 1, 0, 1, 0],
  ['laurel__record-syscall-key.txt', 6, 3, 0, 0, 0],
  ['laurel__record-syscall-nullkey.txt', 8, 3, 0, 1, 0],
  ['laurel__record-uringop.txt', 2, 1, 0, 0, 0],
  ['laurel__record-weblogic.txt', 6, 1, 0, 0, 0],
  ['laurel__shell-proc-trace-confusion.txt', 164, 72, 25, 0, 0],
  ['laurel__shell-proc-trace-reordered.txt', 39, 9, 3, 0, 0],
  ['laurel__shell-proc-trace.txt', 39, 9, 24, 0, 0],
  ['laurel__tree-00.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-01.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-02.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-03.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-04.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-05.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-06.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-07.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-08.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-09.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-10.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-11.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-12.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-13.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-14.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-15.txt', 7, 1, 0, 0, 0],
  ['laurel__tree-16.txt', 7, 1, 0, 0, 0],
  ['linux-audit-parser-rs__src-testdata-ALL.txt', 56, 56, 56, 0, 0],
  ['selinux__python-audit2allow-test.log', 39, 14, 0, 1, 1],
  ['selinux__python-sepolgen-tests-audit.txt', 200, 179, 0, 0, 0],
  ['selinux__python-sepolgen-tests-test_data-audit.log', 5225, 2741, 0, 0, 36],
  ['selinux__python-sepolgen-tests-test_data-httpd.log', 10850, 6470, 0, 2, 56],
  ['selinux__python-sepolgen-tests-test_data-short.log', 15, 8, 0, 0, 0],
  ['setroubleshoot__data-audit-allow_execmod.log', 3, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-allow_postfix_local_write_mail_spool.log', 3, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-automount_exec_config.log', 4, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-bind_ports.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-connect_ports.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-ftp_home_dir.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-http_connect_ports.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-httpd_bad_labels.log', 3, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-httpd_can_network_connect.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-httpd_can_network_connect_db.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-httpd_enable_cgi.log', 3, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-httpd_unified.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-public_content.log', 3, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-qemu_blk_image.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-restorecon.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-samba_home_dir.log', 2, 1, 0, 0, 0],
  ['setroubleshoot__data-audit-samba_share.log', 3, 1, 0, 0, 0],
  ['setroubleshoot__restorecon.log', 2, 1, 0, 0, 0],
];

describe.runIf(corpusAvailable())('the shared corpus', () => {
  it.each(EXPECTED)('%s', (file, records, keys, unparsed, late, duplicates) => {
    const seen = { events: 0, unparsed: 0 };
    const stream = new AuditStream(
      {
        event: () => seen.events++,
        unparsed: () => seen.unparsed++,
      },
      { allEvents: true },
    );
    stream.push(readFileSync(join(CORPUS, file)));
    stream.end();
    const c = stream.counters;
    expect({
      records: c.records,
      keys: c.events - c.late,
      unparsed: c.unparsed,
      late: c.late,
      duplicates: c.duplicates,
    }).toEqual({
      records,
      keys,
      unparsed,
      late,
      duplicates,
    });
    expect(seen).toEqual({ events: c.events, unparsed: c.unparsed });
  });

  it('covers every file in the corpus', async () => {
    const { readdirSync } = await import('node:fs');
    const files = readdirSync(CORPUS).filter((f) => f !== 'README.md');
    expect(EXPECTED.map((e) => e[0]).sort()).toEqual(files.sort());
  });
});

if (!corpusAvailable()) console.log(`skipped: the shared corpus is not at ${CORPUS} (set SVIRT_AUDIT_CORPUS)`);
