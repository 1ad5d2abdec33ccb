/** `svirt-audit watch`: print denials as they are stored, attributed (from another process's collector). */

import { denialJson } from '../../core/denial-json.js';
import { formatTime } from '../../core/time-spec.js';
import { denialsAfter, latestDenialId } from '../../store/denial-query.js';
import { type CommonOptions, openCommandStore } from '../command-context.js';
import type { CliIo } from '../io.js';
import { colourKind } from '../kind-colour.js';
import { visible } from '../terminal-text.js';

interface WatchOptions extends CommonOptions {
  interval?: number;
}

export async function run(options: WatchOptions, _args: string[], io: CliIo): Promise<number> {
  const store = openCommandStore(options, io);
  let last = latestDenialId(store);
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  io.stderr.write('watching for new denials (Ctrl-C to stop)\n');
  try {
    while (!stopped) {
      for (const d of denialsAfter(store, last)) {
        last = d.id;
        const j = denialJson(d);
        if (options.json) io.stdout.write(`${JSON.stringify(j)}\n`);
        else
          io.stdout.write(
            `${formatTime(d.time)} ${visible(j.source.vm?.name ?? j.source.comm ?? '?')} ${colourKind(io, d.kind)} ${visible(
              `${d.perms.join(',')} ${d.tclass ?? ''} ${j.target.path ?? j.target.name ?? ''}${j.target.vm ? ` [VM ${j.target.vm.name}]` : ''}`,
            )}  (explain ${d.id})\n`,
          );
      }
      await new Promise((r) => setTimeout(r, options.interval ?? 250));
    }
    return 0;
  } finally {
    store.close();
  }
}
