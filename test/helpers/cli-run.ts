/** Run the CLI in-process (runCli with captured streams) or as a real child process. */

import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { runCli } from '../../cli/program.js';
import { CLI } from './built.js';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export async function cli(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string; tty?: boolean } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s), ...(options.tty && { isTTY: true }) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([options.stdin ?? '']),
    env: options.env ?? {},
    version: '0.0.0-test',
  });
  return { status, stdout, stderr };
}

export function cliProcess(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...argv], {
      env: { PATH: process.env.PATH, ...options.env },
      ...(options.cwd !== undefined && { cwd: options.cwd }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}
