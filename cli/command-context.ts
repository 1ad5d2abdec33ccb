/** What every command needs first: the database and the host its records belong to. */

import { hostname } from 'node:os';
import { defaultDatabasePath, type OpenStoreOptions, openStore, type Store } from '../store/store.js';
import type { CliIo } from './io.js';

export interface CommonOptions {
  db?: string;
  host?: string;
  json?: boolean;
}

export function databasePath(options: CommonOptions, io: CliIo): string {
  return options.db ?? defaultDatabasePath(io.env);
}

export function openCommandStore(options: CommonOptions, io: CliIo, extra: OpenStoreOptions = {}): Store {
  return openStore(databasePath(options, io), extra);
}

/** The host name records default to: this machine's, as audit's `node=` would name it. */
export function localHost(options: CommonOptions): string {
  return options.host ?? hostname();
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
