/** Server-Sent Events read from a fetch response body, for the stream tests. */

export interface SseEvent<T> {
  id: string;
  data: T;
}

/** Read events from a streaming response until `count` arrived (or it ended), then cancel it. */
export async function readEvents<T>(body: ReadableStream<Uint8Array>, count: number): Promise<SseEvent<T>[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const events: SseEvent<T>[] = [];
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) !== -1) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const id = /^id: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id && data) events.push({ id, data: JSON.parse(data) as T });
    }
  }
  await reader.cancel();
  return events;
}
