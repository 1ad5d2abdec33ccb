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
    const shown = new Set<number>();
    // Where to resume: the id of the last event received (a denial id on a host, a cursor on
    // the fleet's server). Before the first event, a host resumes from the newest denial the
    // view could have loaded; the fleet's server, which takes only its cursors, from now.
    let resume: string | undefined;
    let start: string | undefined;
    const received = (id: string | undefined, d: Denial) => {
      if (id !== undefined) resume = id;
      if (shown.has(d.id)) return;
      shown.add(d.id);
      setDenials((list) => [d, ...list].slice(0, KEEP));
    };
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          if (start === undefined && resume === undefined)
            start = String((await getJson<DenialPage>('/v1/denials?limit=1')).items[0]?.id ?? 0);
          const from = resume ?? start;
          const response = await fetch('/v1/stream', {
            headers: {
              accept: 'text/event-stream',
              ...(from !== undefined && from !== '' && { 'last-event-id': from }),
              ...authHeaders(),
            },
            signal: abort.signal,
          });
          if (response.status === 400 && resume === undefined && start !== '') {
            start = ''; // not a denial id this server takes: from now
            continue;
          }
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

/** Reads `denial` events, with their ids, until the stream ends. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onDenial: (id: string | undefined, d: Denial) => void,
): Promise<void> {
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
      let id: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
        else if (line.startsWith('id: ')) id = line.slice(4);
      }
      if (event === 'denial' && data) onDenial(id, JSON.parse(data) as Denial);
    }
  }
}

/** Live denials first, then the loaded ones not among them. */
export function withLive(live: Denial[], loaded: Denial[]): Denial[] {
  const seen = new Set(live.map((d) => d.id));
  return [...live, ...loaded.filter((d) => !seen.has(d.id))];
}
