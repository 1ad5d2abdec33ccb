/**
 * `svirt-audit export`: denials for a SIEM, oldest first, one per line: ECS JSON, CEF, or
 * our own JSON. `--follow` keeps writing them as they are stored; `--position FILE` makes
 * a run resume after the last denial an earlier run wrote (the id, saved after each batch).
 */

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { denialJson } from '../../core/denial-json.js';
import { SvirtAuditError } from '../../core/errors.js';
import { denialCef, denialEcs } from '../../core/siem-formats.js';
import { denialsAfter } from '../../store/denial-query.js';
import { type CommonOptions, openCommandStore } from '../command-context.js';
import type { CliIo, TextSink } from '../io.js';
import { untilStopSignal } from '../stop-signal.js';

interface ExportOptions extends CommonOptions {
  format: 'ecs' | 'cef' | 'jsonl';
  since?: number;
  follow?: boolean;
  position?: string;
}

const PAGE = 1000;

/** Write, and wait while the reader (a pipe to a forwarder) is behind: memory stays one page. */
async function written(sink: TextSink, text: string): Promise<void> {
  if (sink.write(text) === false && 'once' in sink)
    await new Promise((resolve) => (sink as unknown as NodeJS.WritableStream).once('drain', resolve));
}

function readPosition(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  if (!/^\d{1,15}$/.test(text))
    throw new SvirtAuditError(
      'BAD_INPUT',
      `${file} does not hold a denial id (it has ${JSON.stringify(text.slice(0, 40))})`,
      'remove it to export from the start, or write the last id exported into it',
    );
  return Number(text);
}

/** Written whole or not at all: a crash never leaves half an id. */
function savePosition(file: string, id: number): void {
  writeFileSync(`${file}.tmp`, `${id}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export async function run(options: ExportOptions, _args: string[], io: CliIo): Promise<number> {
  const line = (d: Parameters<typeof denialJson>[0]): string => {
    const json = denialJson(d);
    if (options.format === 'ecs') return JSON.stringify(denialEcs(json, io.version));
    if (options.format === 'cef') return denialCef(json, io.version);
    return JSON.stringify(json);
  };
  let last = options.position === undefined ? 0 : readPosition(options.position);
  const store = openCommandStore(options, io, { readonly: true });
  let stopped = false;
  const stop = options.follow ? untilStopSignal().then(() => (stopped = true)) : undefined;
  try {
    for (;;) {
      const batch = denialsAfter(store, last, PAGE);
      let text = '';
      for (const d of batch) if (options.since === undefined || d.time >= options.since) text += `${line(d)}\n`;
      if (text !== '') await written(io.stdout, text);
      if (batch.length > 0) {
        last = (batch[batch.length - 1] as { id: number }).id;
        if (options.position !== undefined) savePosition(options.position, last);
      }
      if (batch.length === PAGE) continue;
      if (!options.follow || stopped) return 0;
      await Promise.race([sleep(500), stop]);
      if (stopped) return 0;
    }
  } finally {
    store.close();
  }
}
