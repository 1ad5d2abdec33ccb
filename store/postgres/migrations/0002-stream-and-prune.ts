/**
 * The central server's live stream (/v1/stream) follows each host's denials in the order
 * the host stored and shipped them, its local ids: an index per host and local id makes
 * "this host's denials after local id N" a range, whatever their audit times.
 *
 * `fleet prune` removes rows without any host shipping, so the central server's answer
 * cache (keyed by each host's shipping position) must learn of it: a prune generation.
 */

export const sql = `
  CREATE INDEX denial_by_host_local ON denial (host, local_id);

  CREATE TABLE fleet_prune (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation bigint NOT NULL DEFAULT 0
  );
  INSERT INTO fleet_prune DEFAULT VALUES;
  GRANT SELECT ON fleet_prune TO svirt_audit_host, svirt_audit_reader;
`;
