/** What a command may touch of the outside world, passed in so tests can run commands in-process. */

export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  version: string;
  /** Set by a command's action; read by runCli. */
  exitCode?: number;
}
