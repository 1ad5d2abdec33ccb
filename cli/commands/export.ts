/**
 * `svirt-audit export`: denials for a SIEM, oldest first, one per line: ECS JSON, CEF, or
 * our own JSON. `--follow` keeps writing them as they are stored; `--position FILE` makes
 * a run resume after the last denial an earlier run wrote (saved after each batch). With
 * `--db postgres://…` it exports the fleet's denials as hosts ship them, host after host
 * in each host's storing order, and the position is a cursor per host.
 */

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttributedDenial } from '../../core/attributed-denial.js';
import { denialJson } from '../../core/denial-json.js';
import { SvirtAuditError } from '../../core/errors.js';
import { denialCef, denialEcs } from '../../core/siem-formats.js';
import { denialsAfter } from '../../store/denial-query.js';
import { isPostgresUrl } from '../../store/postgres/url.js';
import { openStore } from '../../store/store.js';
import { type CommonOptions, databasePath } from '../command-context.js';
import type { CliIo, TextSink } from '../io.js';
import { untilStopSignal } from '../stop-signal.js';

interface ExportOptions extends CommonOptions {
  format: 'ecs' | 'cef' | 'jsonl';
  since?: number;
  follow?: boolean;
  position?: string;
}

const PAGE = 1000;

/** Where denials come from, page by page after a position written as text. */
interface DenialPages {
  next(): Promise<{ denials: AttributedDenial[]; full: boolean }>;
  /** The position after the last page, as the position file holds it. */
  position(): string;
  close(): Promise<void>;
}

/** Write, and wait while the reader (a pipe to a forwarder) is behind: memory stays one page. */
async function written(sink: TextSink, text: string): Promise<void> {
  if (sink.write(text) === false && 'once' in sink)
    await new Promise((resolve) => (sink as unknown as NodeJS.WritableStream).once('drain', resolve));
}

function readPosition(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Written whole or not at all: a crash never leaves half a position. */
function savePosition(file: string, position: string): void {
  writeFileSync(`${file}.tmp`, `${position}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

const positionHint = 'remove it to export from the start, or restore the one an earlier run wrote';

function sqlitePages(path: string, saved: string | undefined, file: string | undefined): DenialPages {
  if (saved !== undefined && !/^\d{1,15}$/.test(saved))
    throw new SvirtAuditError(
      'BAD_INPUT',
      `${file} does not hold a denial id (it has ${JSON.stringify(saved.slice(0, 40))})`,
      positionHint,
    );
  let last = saved === undefined ? 0 : Number(saved);
  const store = openStore(path, { readonly: true });
  return {
    async next() {
      const denials = denialsAfter(store, last, PAGE);
      if (denials.length > 0) last = (denials[denials.length - 1] as AttributedDenial).id;
      return { denials, full: denials.length === PAGE };
    },
    position: () => String(last),
    close: async () => store.close(),
  };
}

async function fleetPages(url: string, saved: string | undefined, file: string | undefined): Promise<DenialPages> {
  // Loaded only for a fleet URL: nothing else loads the PostgreSQL client (see pg-runtime.ts).
  const [{ openFleet }, { fleetDenialsAfter }, { decodeCursor, encodeCursor }] = await Promise.all([
    import('../../store/postgres/connect.js'),
    import('../../store/postgres/fleet-reads.js'),
    import('../../store/postgres/stream-cursor.js'),
  ]);
  let cursor =
    saved === undefined ? new Map<string, number>() : decodeCursor(saved, { what: `${file}`, hint: positionHint });
  const pool = await openFleet(url);
  return {
    async next() {
      const { events, full, hosts } = await fleetDenialsAfter(pool, cursor, PAGE);
      cursor = new Map([...cursor].filter(([host]) => hosts.includes(host)));
      for (const e of events) cursor.set(e.host, e.localId);
      return { denials: events.map((e) => e.denial), full };
    },
    position: () => encodeCursor(cursor),
    close: () => pool.end(),
  };
}

export async function run(options: ExportOptions, _args: string[], io: CliIo): Promise<number> {
  const line = (d: AttributedDenial): string => {
    const json = denialJson(d);
    if (options.format === 'ecs') return JSON.stringify(denialEcs(json, io.version));
    if (options.format === 'cef') return denialCef(json, io.version);
    return JSON.stringify(json);
  };
  const db = databasePath(options, io);
  const saved = options.position === undefined ? undefined : readPosition(options.position);
  const pages = isPostgresUrl(db)
    ? await fleetPages(db, saved, options.position)
    : sqlitePages(db, saved, options.position);
  let stopped = false;
  const stop = options.follow ? untilStopSignal().then(() => (stopped = true)) : undefined;
  try {
    for (;;) {
      const { denials, full } = await pages.next();
      let text = '';
      for (const d of denials) if (options.since === undefined || d.time >= options.since) text += `${line(d)}\n`;
      if (text !== '') await written(io.stdout, text);
      if (denials.length > 0 && options.position !== undefined) savePosition(options.position, pages.position());
      if (full) continue;
      if (!options.follow || stopped) return 0;
      await Promise.race([sleep(500), stop]);
      if (stopped) return 0;
    }
  } finally {
    await pages.close();
  }
}
