/**
 * One POST of a JSON body to a receiver, over node:http(s) (not fetch: it needs
 * WebAssembly, which serve may run without; see store/postgres/pg-runtime.ts). Never
 * throws: the answer says whether the alert arrived and whether trying again can help.
 * A receiver's answer is read up to 1 KiB (its error text) and no more, redirects are not
 * followed, and a receiver that does not answer within the timeout is a failed attempt.
 */

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PostResult {
  ok: boolean;
  /** False when trying again cannot help (the receiver refused this request as such). */
  retryable: boolean;
  /** What went wrong, for `svirt-audit alerts` and the log. */
  error: string | null;
}

const MAX_ERROR_BYTES = 1024;

export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutMs = 10_000,
): Promise<PostResult> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(data.length) },
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, retryable: true, error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) =>
      done({ ok: false, retryable: true, error: `${e.code ?? 'error'}: ${e.message}` }),
    );
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        res.resume();
        done({ ok: true, retryable: false, error: null });
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length >= MAX_ERROR_BYTES) res.destroy();
      });
      const finish = () =>
        done({
          ok: false,
          // Timeouts, rate limits and server errors pass; anything else is this request refused.
          retryable: status === 408 || status === 429 || status >= 500,
          error: `HTTP ${status}${text.trim() ? `: ${text.trim().slice(0, 200)}` : ''}`,
        });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    req.end(data);
  });
}
