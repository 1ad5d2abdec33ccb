/** `svirt-audit token create --role R`: make a bearer token for the API; it is shown once. */

import { createToken, defaultTokenPath, type TokenRole } from '../../api/tokens.js';
import { type CommonOptions, databasePath } from '../command-context.js';
import type { CliIo } from '../io.js';

interface TokenOptions extends CommonOptions {
  role: TokenRole;
  tokens?: string;
  label?: string;
}

export function run(options: TokenOptions, _args: string[], io: CliIo): number {
  const path = options.tokens ?? defaultTokenPath(databasePath(options, io));
  const token = createToken(path, options.role, options.label ?? '');
  io.stdout.write(`${token}\n`);
  io.stderr.write(
    `created a ${options.role} token in ${path} (only its hash is stored; this is the only time it is shown). Send it as: Authorization: Bearer <token>. A running serve picks it up on SIGHUP.\n`,
  );
  return 0;
}
