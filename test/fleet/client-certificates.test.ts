/**
 * Hosts that log in to the fleet with a client certificate instead of a password, on a
 * PostgreSQL of its own that takes TLS only and authenticates TCP logins by certificate
 * (pg_hba `cert`: the certificate's CN is the role): a host ships with its own; without
 * one, or with another host's certificate under its role, it is refused.
 */

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { Shipper } from '../../fleet/shipper.js';
import { openFleet } from '../../store/postgres/connect.js';
import { addFleetHost } from '../../store/postgres/fleet-hosts.js';
import {
  createTestDatabase,
  postgresUnavailable,
  type ScratchCluster,
  scratchCluster,
  type TestDatabase,
} from '../helpers/postgres.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';
import { writeFileSync } from 'node:fs';

const unavailable = await postgresUnavailable();
if (unavailable) console.warn(`test/fleet client certificates: skipped: ${unavailable}`);

let cluster: ScratchCluster;
let db: TestDatabase;
let t: TempStore;
const roles = { hv1: '', hv2: '' };

/** The URL a host ships with: its role, no password, its certificate and key, the CA to verify the server. */
function certUrl(role: string, certificate: { cert: string; key: string } | null): string {
  const tls = `sslmode=verify-full&sslrootcert=${encodeURIComponent(cluster.caFile)}`;
  const mine = certificate
    ? `&sslcert=${encodeURIComponent(certificate.cert)}&sslkey=${encodeURIComponent(certificate.key)}`
    : '';
  return `postgres://${role}@localhost:${cluster.port}/${db.name}?${tls}${mine}`;
}

beforeAll(async () => {
  if (unavailable) return;
  cluster = scratchCluster('svirt_audit_certs', 5441, { clientCertificates: true });
  db = await createTestDatabase(cluster);
  t = openTempStore();
  const log = join(t.dir, 'hv1.log');
  writeFileSync(log, eventsText(1, 20, 'hv1'));
  await ingestFiles(t.store, [log], { localHost: 'hv1' });
  const admin = await openFleet(db.adminUrl, { migrate: true });
  try {
    for (const host of ['hv1', 'hv2'] as const) {
      roles[host] = db.role(`ship_${host}`);
      await addFleetHost(admin, host, roles[host]); // no password: the certificate is the credential
    }
  } finally {
    await admin.end();
  }
}, 120_000);
afterAll(async () => {
  t?.cleanup();
  await db?.drop().catch(() => undefined);
  cluster?.drop();
});

describe.skipIf(unavailable)('hosts with client certificates', () => {
  it('a host ships with its own certificate, no password', async () => {
    const shipper = new Shipper(t.store, { url: certUrl(roles.hv1, cluster.clientCertificate(roles.hv1)) });
    try {
      await shipper.drain();
      expect(shipper.status()).toMatchObject({ host: 'hv1', lagRows: 0, failures: 0 });
      expect(shipper.status().shipped.rows).toBeGreaterThanOrEqual(40); // 20 events and their denials
    } finally {
      await shipper.stop();
    }
  });

  it('without a certificate, or with another host’s under its role, the server refuses the login', async () => {
    await expect(openFleet(certUrl(roles.hv1, null))).rejects.toThrow(/certificate/i);
    const other = cluster.clientCertificate(roles.hv2);
    await expect(openFleet(certUrl(roles.hv1, other))).rejects.toThrow(/certificate authentication failed/i);
  });
});
