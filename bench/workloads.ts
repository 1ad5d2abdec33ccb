/**
 * Bench inputs as data: a large audit log built by repeating the raw-format corpus files
 * with shifted timestamps and serials, so every copy is a distinct, valid event stream
 * that ausearch reads too. Built once into bench/.data/ (ignored by git).
 */

import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const DATA_DIR = join(ROOT, 'bench', '.data');
export const CORPUS = process.env.SVIRT_AUDIT_CORPUS ?? resolve(ROOT, '..', 'shared', 'corpus');

/** Corpus files in auditd's raw format (every record line starts with type= or node=). */
export const RAW_SOURCES = [
  'selinux__python-sepolgen-tests-test_data-audit.log',
  'selinux__python-sepolgen-tests-test_data-httpd.log',
  'laurel__shell-proc-trace-confusion.txt',
  'go-libaudit__auparse-testdata-audit-rhel7.log',
  'audit-userspace__auparse-test-test3.log',
];

const HEADER = /audit\((\d+)\.(\d{3}):(\d+)\)/;

/** Path of a log of at least `megabytes` MB, building it if missing. */
export async function largeLog(megabytes: number): Promise<string> {
  mkdirSync(DATA_DIR, { recursive: true });
  const path = join(DATA_DIR, `corpus-x-${megabytes}mb.log`);
  if (existsSync(path) && statSync(path).size >= megabytes * 1e6) return path;
  const lines = RAW_SOURCES.flatMap((f) =>
    readFileSync(join(CORPUS, f), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('type=') || l.startsWith('node=')),
  );
  const out = createWriteStream(path);
  let written = 0;
  let copy = 0;
  const base = 1_700_000_000;
  while (written < megabytes * 1e6) {
    const chunk: string[] = [];
    for (const l of lines) {
      // Each copy lives a day later with serials 10^6 higher, so no two events collide.
      const shifted = l.replace(HEADER, (_m, sec: string, ms: string, serial: string) => {
        const s = base + copy * 86_400 + (Number(sec) % 86_400);
        return `audit(${s}.${ms}:${Number(serial) + copy * 1_000_000})`;
      });
      chunk.push(shifted);
    }
    const text = `${chunk.join('\n')}\n`;
    written += Buffer.byteLength(text);
    if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
    copy++;
  }
  await new Promise<void>((r) => out.end(() => r()));
  return path;
}
