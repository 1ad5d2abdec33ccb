/**
 * "New denials were stored": the in-process collector signals it after each commit, and a
 * slow timer covers denials stored by other processes (an `ingest` running beside `serve`).
 * Listeners (the SSE stream, the metrics) read what is new from the store themselves.
 */

import { EventEmitter } from 'node:events';

export class DenialNotifier extends EventEmitter {
  notify(): void {
    this.emit('stored');
  }

  onStored(listener: () => void): () => void {
    this.on('stored', listener);
    return () => this.off('stored', listener);
  }
}
