/**
 * One thread of the answer pool (api/answer-pool.ts): a read connection and a summary
 * cache of its own, answering one request at a time. Warming yields between VMs so
 * requests are answered meanwhile.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/store.js';
import { VmAnswerCache } from './vm-answer-cache.js';
import { type AnswerReply, type AnswerRequest, type AnswerWorkerData, errorReply, shardOf } from './answer-pool.js';
import { answerJson } from './answers.js';

const port = parentPort;
if (!port) throw new Error('api/answer-worker.js runs as a worker thread of the answer pool');
const data = workerData as AnswerWorkerData;
const store = openStore(data.dbPath, { readonly: true });
const cache = new VmAnswerCache();
// Summaries of the VMs this thread answers about (the pool routes by shardOf the uuid).
cache.load(store, data.version, (uuid) => shardOf(uuid, data.threads) === data.index);

port.on('message', (request: AnswerRequest) => {
  if (request.kind === 'warm') {
    void cache
      .warm(store, request.vms, () => false)
      .then(
        (warmed) => port.postMessage({ id: request.id, ok: true, body: '', warmed } satisfies AnswerReply),
        (error: unknown) => port.postMessage(errorReply(request.id, error)),
      );
    return;
  }
  if (request.kind === 'saved') {
    port.postMessage({ id: request.id, ok: true, body: '', saved: cache.saved() } satisfies AnswerReply);
    return;
  }
  let reply: AnswerReply;
  try {
    reply = { id: request.id, ok: true, body: answerJson(store, cache, request.name, request.args) };
  } catch (error) {
    reply = errorReply(request.id, error);
  }
  port.postMessage(reply);
});
