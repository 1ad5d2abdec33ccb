/**
 * New denials as they are stored: the API's Server-Sent-Events stream (`/v1/stream`),
 * read with fetch (EventSource cannot send the token), resumed after a drop or a server
 * restart with `Last-Event-ID` so nothing is missed or shown twice.
 */

import { useEffect, useState } from 'preact/hooks';
import { authHeaders, type Denial, type DenialPage, getJson } from './api.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

/** How many live denials a view keeps (the newest). */
const KEEP = 200;
const RETRY_MS = 1000;

/** Denials stored since the view opened, newest first, and the stream's state. */
export function useLiveDenials(): { state: LiveState; denials: Denial[] } {
  const [state, setState] = useState<LiveState>('connecting');
  const [denials, setDenials] = useState<Denial[]>([]);
  useEffect(() => {
    const abort = new AbortController();
    let last = -1;
    const received = (d: Denial) => {
      if (d.id <= last) return;
      last = d.id;
      setDenials((shown) => [d, ...shown].slice(0, KEEP));
    };
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          // From the newest denial there is now: what the view loaded is not streamed again.
          if (last < 0) last = (await getJson<DenialPage>('/v1/denials?limit=1')).items[0]?.id ?? 0;
          const response = await fetch('/v1/stream', {
            headers: { accept: 'text/event-stream', 'last-event-id': String(last), ...authHeaders() },
            signal: abort.signal,
          });
          if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
          setState('live');
          await readEvents(response.body, received);
        } catch {
          // Dropped, refused or the server is down: retried below.
        }
        if (abort.signal.aborted) return;
        setState('reconnecting');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    };
    void run();
    return () => abort.abort();
  }, []);
  return { state, denials };
}

/** Reads `denial` events until the stream ends. */
async function readEvents(body: ReadableStream<Uint8Array>, onDenial: (d: Denial) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (event === 'denial' && data) onDenial(JSON.parse(data) as Denial);
    }
  }
}

/** Live denials first, then the loaded ones not among them. */
export function withLive(live: Denial[], loaded: Denial[]): Denial[] {
  const seen = new Set(live.map((d) => d.id));
  return [...live, ...loaded.filter((d) => !seen.has(d.id))];
}
