/**
 * The central server's live stream (/v1/stream) follows each host's denials in the order
 * the host stored and shipped them, its local ids: an index per host and local id makes
 * "this host's denials after local id N" a range, whatever their audit times.
 */

export const sql = `
  CREATE INDEX denial_by_host_local ON denial (host, local_id);
`;
