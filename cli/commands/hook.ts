/**
 * `svirt-audit hook qemu DOMAIN OP SUBOP EXTRA`: libvirt's hook. Whatever happens, a VM
 * start is not failed because of us (exit 0, message on stderr for libvirt's log),
 * unless SVIRT_AUDIT_HOOK_STRICT=1 asks for failures to refuse the start.
 */

import { domainConfinement, parseDomainXml } from '../../libvirt-hook/domain-xml.js';
import { assertHostEnforces, hostFilesFromEnv } from '../../allocation/enforcing-gate.js';
import { loadLabelBases } from '../../allocation/label-bases.js';
import { handleQemuHook } from '../../libvirt-hook/qemu-hook.js';
import { type CommonOptions, localHost, openCommandStore } from '../command-context.js';
import { formatError } from '../error-message.js';
import type { CliIo } from '../io.js';

const MAX_XML_BYTES = 16 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 2000;

export async function run(options: CommonOptions, args: string[], io: CliIo): Promise<number> {
  const strict = io.env.SVIRT_AUDIT_HOOK_STRICT === '1';
  const [object, domain, op, subop = '-', extra = '-'] = args;
  try {
    // Read all of stdin even when we ignore it, so libvirt never writes into a closed pipe.
    const xml = await readAll(io.stdin, MAX_XML_BYTES);
    if (object !== 'qemu' || !domain || !op) return 0;
    if (io.env.SVIRT_AUDIT_REQUIRE_ENFORCING === '1' && (op === 'prepare' || op === 'start')) {
      // The launch gate: the admin asked for it, so it refuses (exit 1 makes libvirt
      // refuse the start), strict mode or not.
      const refusal = enforcingRefusal(xml, io.env);
      if (refusal) {
        io.stderr.write(`svirt-audit hook (${domain} ${op}): ${refusal}\n`);
        return 1;
      }
    }
    if (io.env.SVIRT_AUDIT_API_SOCKET) {
      await hookViaApi(io.env.SVIRT_AUDIT_API_SOCKET, op, xml, io);
      return 0;
    }
    const timeout = Number(io.env.SVIRT_AUDIT_HOOK_TIMEOUT_MS) || DEFAULT_TIMEOUT_MS;
    const store = openCommandStore(options, io, { busyTimeoutMs: timeout });
    try {
      const outcome = handleQemuHook(store, {
        domain,
        op,
        subop,
        extra,
        xml,
        host: localHost(options),
        bases: loadLabelBases(io.env.SVIRT_AUDIT_SELINUX_ROOT),
        ...(io.env.SVIRT_AUDIT_LIBVIRT_PID_DIR && { pidDir: io.env.SVIRT_AUDIT_LIBVIRT_PID_DIR }),
      });
      if (io.env.SVIRT_AUDIT_HOOK_DEBUG === '1')
        io.stderr.write(`svirt-audit hook: ${domain} ${op}: ${outcome.action}\n`);
    } finally {
      store.close();
    }
    return 0;
  } catch (error) {
    const { message } = formatError(error);
    io.stderr.write(`svirt-audit hook (${domain ?? '?'} ${op ?? '?'}): ${message.replace(/^svirt-audit: /, '')}`);
    return strict ? 1 : 0;
  }
}

/** Why the gate refuses this start (undefined: the host enforces the VM's confinement). */
function enforcingRefusal(xml: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    assertHostEnforces(domainConfinement(parseDomainXml(xml)).model, hostFilesFromEnv(env));
    return undefined;
  } catch (error) {
    return formatError(error)
      .message.replace(/^svirt-audit: /, '')
      .trimEnd();
  }
}

async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size <= limit) chunks.push(buf);
  }
  if (size > limit) throw new Error(`the domain XML on stdin is over ${limit} bytes`);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The hook through the API's unix socket (SVIRT_AUDIT_API_SOCKET): the allocation with
 * the disks it should relabel at start/started, its end at stopped/release.
 */
async function hookViaApi(socket: string, op: string, xml: string, io: CliIo): Promise<void> {
  // Loaded only on this path: the hook runs at every VM start (bench/alloc measures its start-up).
  const { postViaApi } = await import('../api-client.js');
  const { domainConfinement, expectedDisks, parseDomainXml } = await import('../../libvirt-hook/domain-xml.js');
  const token = io.env.SVIRT_AUDIT_TOKEN;
  if (op === 'start' || op === 'started' || op === 'reconnect' || op === 'attach') {
    const def = parseDomainXml(xml);
    const conf = domainConfinement(def);
    if (conf.model === 'selinux' && !conf.seclabel?.label) return;
    await postViaApi(
      socket,
      '/v1/allocations',
      {
        uuid: def.uuid,
        name: def.name,
        model: conf.model,
        ...(conf.seclabel?.label !== undefined && { label: conf.seclabel.label }),
        ...(conf.seclabel?.imageLabel !== undefined && { imageLabel: conf.seclabel.imageLabel }),
        disks: expectedDisks(def, conf, loadLabelBases(io.env.SVIRT_AUDIT_SELINUX_ROOT)),
        // libvirt has chosen the label already: end stale holders as the direct hook does.
        assigned: true,
      },
      token,
    );
  } else if (op === 'stopped' || op === 'release') {
    const def = parseDomainXml(xml);
    try {
      await postViaApi(socket, `/v1/allocations/${def.uuid}/release`, {}, token);
    } catch (error) {
      // Already released at `stopped`: `release` finds nothing open, which is fine.
      if (!(error instanceof Error && /NO_OPEN_ALLOCATION|404/.test(error.message))) throw error;
    }
  }
}
