/**
 * A throwaway PostgreSQL database per test file on the machine's real server (`.ci/run`
 * installs Debian's postgresql, starts its cluster and makes root a superuser that logs in
 * over the Unix socket). Host roles get passwords and log in over TCP on loopback, as a
 * hypervisor would. Roles are cluster-wide, so their names carry the database's suffix and
 * they are dropped with it.
 */

import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';

const SOCKET = process.env.SVIRT_AUDIT_PG_SOCKET ?? '/var/run/postgresql';
const PORT = process.env.SVIRT_AUDIT_PG_PORT ?? '5432';

export const adminUrl = (db: string, port = PORT) =>
  `postgres://${userInfo().username}@/${db}?host=${encodeURIComponent(SOCKET)}&port=${port}`;

/**
 * Why PostgreSQL cannot be used here, or undefined when it can. Under CI (which installs
 * it) its absence is a failure, not a reason to skip.
 */
export async function postgresUnavailable(): Promise<string | undefined> {
  const reason = await probe();
  if (reason && process.env.CI) throw new Error(`CI has no PostgreSQL: ${reason}`);
  return reason;
}

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: adminUrl('postgres'), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `no PostgreSQL superuser login over ${SOCKET} (${(error as Error).message}); .ci/run sets it up`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface TestDatabase {
  name: string;
  /** As the fleet administrator (superuser, Unix socket). */
  adminUrl: string;
  /** A login role's URL over TCP on loopback. */
  roleUrl(role: string, password: string): string;
  /** A role name unique to this database. */
  role(base: string): string;
  drop(): Promise<void>;
}

async function adminQuery(sql: string, port = PORT): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl('postgres', port) });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A database of its own on the shared server, or on `cluster` (then role URLs ask for TLS
 * and verify the server's certificate and name).
 */
export async function createTestDatabase(cluster?: ScratchCluster): Promise<TestDatabase> {
  const port = cluster?.port ?? PORT;
  const suffix = randomBytes(4).toString('hex');
  const name = `svirt_test_${suffix}`;
  // The group roles are cluster-wide: made here once, so parallel test files do not race
  // to create them inside their migrations.
  for (const group of ['svirt_audit_host', 'svirt_audit_reader'])
    await adminQuery(`CREATE ROLE ${group} NOLOGIN`, port).catch(() => undefined);
  await adminQuery(`CREATE DATABASE ${name}`, port);
  const roles: string[] = [];
  return {
    name,
    adminUrl: adminUrl(name, port),
    roleUrl: (role, password) =>
      cluster
        ? `postgres://${role}:${encodeURIComponent(password)}@localhost:${port}/${name}?sslmode=verify-full&sslrootcert=${encodeURIComponent(cluster.caFile)}`
        : `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}`,
    role(base) {
      const r = `${base}_${suffix}`;
      roles.push(r);
      return r;
    },
    async drop() {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, port);
      for (const r of roles) await adminQuery(`DROP ROLE IF EXISTS ${r}`, port);
    },
  };
}

export interface ScratchCluster {
  port: string;
  /** The certificate the server's is verified by (with client certificates: the CA's). */
  caFile: string;
  /** With `clientCertificates`: a certificate and key for login role `role`, signed by the CA. */
  clientCertificate(role: string): { cert: string; key: string };
  /** A database in it, for the fleet administrator (superuser over the Unix socket). */
  adminUrl(db: string): string;
  stop(): void;
  start(): void;
  drop(): void;
}

/**
 * A PostgreSQL cluster of its own (Debian's pg_createcluster), for tests that stop and
 * start the server: the shared one serves the other test files meanwhile. Its TCP clients
 * must use TLS (a self-signed certificate for localhost), as a fleet across a network does.
 * With `clientCertificates`, a CA signs the server's certificate and TCP logins need a
 * client certificate whose CN is the role (pg_hba `cert`), no password.
 */
export function scratchCluster(
  name: string,
  port: number,
  options: { clientCertificates?: boolean } = {},
): ScratchCluster {
  const [version] = execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' }).trim().split(/\s+/);
  const ver = version as string;
  const quiet = { stdio: 'ignore' as const };
  try {
    execFileSync('pg_dropcluster', ['--stop', ver, name], quiet);
  } catch {
    // none left over from an earlier run
  }
  execFileSync('pg_createcluster', [ver, name, '--port', String(port)], quiet);
  const conf = `/etc/postgresql/${ver}/${name}`;
  const [cert, key] = [`${conf}/server.crt`, `${conf}/server.key`];
  /** A self-signed certificate (the server's, or the CA's that signs the others). */
  const selfSigned = (subject: string, keyOut: string, certOut: string) =>
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        subject,
        '-keyout',
        keyOut,
        '-out',
        certOut,
      ],
      quiet,
    );
  selfSigned('/CN=localhost', key, cert);
  const ca = `${conf}/client-ca.crt`;
  const caKey = `${conf}/client-ca.key`;
  const sign = (subject: string, keyOut: string, certOut: string) => {
    execFileSync(
      'openssl',
      ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', keyOut, '-out', `${certOut}.csr`],
      quiet,
    );
    writeFileSync(
      `${certOut}.ext`,
      subject === '/CN=localhost' ? 'subjectAltName=DNS:localhost\n' : 'basicConstraints=CA:FALSE\n',
    );
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${certOut}.csr`,
        '-CA',
        ca,
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        certOut,
        '-extfile',
        `${certOut}.ext`,
      ],
      quiet,
    );
  };
  if (options.clientCertificates) {
    selfSigned('/CN=svirt-audit test CA', caKey, ca);
    sign('/CN=localhost', key, cert);
  }
  execFileSync('chown', ['postgres:postgres', cert, key]);
  execFileSync('chmod', ['600', key]);
  appendFileSync(
    `${conf}/postgresql.conf`,
    `\nssl = on\nssl_cert_file = '${cert}'\nssl_key_file = '${key}'\n${options.clientCertificates ? `ssl_ca_file = '${ca}'\n` : ''}`,
  );
  const hba = `${conf}/pg_hba.conf`;
  writeFileSync(
    hba,
    `hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\n${options.clientCertificates ? 'hostssl all all 0.0.0.0/0 cert\nhostssl all all ::/0 cert\n' : ''}${readFileSync(hba, 'utf8')}`,
  );
  execFileSync('pg_ctlcluster', [ver, name, 'start'], quiet);
  execFileSync(
    'runuser',
    ['-u', 'postgres', '--', 'psql', '-p', String(port), '-qc', `CREATE ROLE ${userInfo().username} SUPERUSER LOGIN`],
    quiet,
  );
  return {
    port: String(port),
    caFile: options.clientCertificates ? ca : cert,
    clientCertificate(role) {
      const out = { cert: `${conf}/${role}.crt`, key: `${conf}/${role}.key` };
      sign(`/CN=${role}`, out.key, out.cert);
      return out;
    },
    adminUrl: (db) => adminUrl(db, String(port)),
    stop: () => execFileSync('pg_ctlcluster', [ver, name, 'stop', '-m', 'fast'], quiet),
    start: () => execFileSync('pg_ctlcluster', [ver, name, 'start'], quiet),
    drop: () => execFileSync('pg_dropcluster', ['--stop', ver, name], quiet),
  };
}
