/** Entry point of the `svirt-audit` binary: wires the real process into the program. */

import { readFileSync } from 'node:fs';
import { runCli } from './program.js';

// `svirt-audit denials | head`: the reader has what it wanted and closed the pipe. Stop
// quietly, as coreutils do, instead of dying on EPIPE with a stack.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const status = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  version: pkg.version,
});
process.exitCode = status;
