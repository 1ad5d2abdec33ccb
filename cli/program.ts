/**
 * The `svirt-audit` command line: every command's arguments, options and help, declared
 * here (cheap), with each action loading `commands/<name>.js` only when it runs. The
 * launch-path commands (alloc, release, relabel, hook) therefore never load the
 * collector, the API or the report renderers.
 */

import { Command, CommanderError, Option } from 'commander';
import { DENIAL_KINDS } from '../core/denial-kind.js';
import { assertTimeWindow } from '../core/time-spec.js';
import { parseBackingDir, parseDisk } from './disk-option.js';
import { formatError } from './error-message.js';
import type { CliIo } from './io.js';
import {
  parseCategoryRange,
  parsePositiveInt,
  parseSizeOption,
  parseSpanOption,
  parseSyslogOption,
  parseThreadCount,
  parseTime,
  parseUuid,
} from './option-parsers.js';

// Each command module types its own options; commander has validated them by the time
// `run` is called, so the boundary takes any options shape (`never` accepts them all).
type Action = (options: never, args: string[], io: CliIo) => Promise<number | undefined> | number | undefined;
type CommandModule = { run: Action };

const HELP_FOOTER = `
Database: --db PATH, else $SVIRT_AUDIT_DB, else /var/lib/svirt-audit/audit.db (root)
or $XDG_STATE_HOME/svirt-audit/audit.db. Times (T): ISO 8601 (2026-11-21T10:00:00Z)
or a span back from now (90m, 24h, 7d). Exit status: 0 ok, 1 unexpected error,
2 bad usage or input, 3 conflict (label held, range exhausted), 4 not found,
5 database unavailable (locked, too new, cannot be created), 6 launch failed
(disks restored), 7 report verify found the report altered.`;

/** Build the program. `io` carries stdout/stderr/stdin so tests run it in-process. */
export function buildProgram(io: CliIo): Command {
  // Help and usage errors go where the command's own output goes (tests capture both).
  const output = { writeOut: (s: string) => io.stdout.write(s), writeErr: (s: string) => io.stderr.write(s) };
  const program = new Command('svirt-audit')
    .description('Which confined VM was denied what, when, and why: sVirt labels joined with the kernel audit log.')
    .version(io.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', HELP_FOOTER)
    .configureOutput(output)
    .exitOverride();

  const dbOption = () => new Option('--db <path>', 'database file').env('SVIRT_AUDIT_DB');
  const hostOption = () => new Option('--host <name>', 'host the record belongs to (default: this host)');
  const jsonOption = () => new Option('--json', 'print one JSON document to stdout');

  // Each command's module is imported when it runs: the hook and alloc run at every VM
  // start, and loading every command (fastify, the report renderers) would cost them
  // start-up time (bench/alloc).
  const add = (name: string, description: string, load: () => Promise<CommandModule>): Command => {
    const cmd = program
      .command(name)
      .description(description)
      .addOption(dbOption())
      .exitOverride()
      .configureOutput(output);
    cmd.action(async (...received: unknown[]) => {
      const command = received[received.length - 1] as Command;
      const options = command.opts();
      const args = command.args;
      assertTimeWindow(
        typeof options.since === 'number' ? options.since : undefined,
        typeof options.until === 'number' ? options.until : undefined,
      );
      const mod = await load();
      io.exitCode = (await mod.run(options as never, args, io)) ?? 0;
    });
    return cmd;
  };

  add('alloc', 'allocate a label for a VM (or record a static one) and print it', () => import('./commands/alloc.js'))
    .requiredOption('--uuid <uuid>', 'VM uuid', parseUuid)
    .requiredOption('--vm <name>', 'VM name')
    .addOption(
      new Option('--model <model>', 'security model').choices(['selinux', 'apparmor', 'none']).default('selinux'),
    )
    .option('--range <cats>', 'categories to draw from, e.g. c800.c899 (default c0.c1023)', parseCategoryRange)
    .option('--single', 'one category per VM (OpenXT style; c0 stays reserved) instead of a pair')
    .option('--tcg', 'use the TCG domain type (svirt_tcg_t)')
    .addOption(hostOption())
    .option('--pid <pid>', 'QEMU pid, when known', parsePositiveInt)
    .option('--label <context>', 'record this static label instead of allocating one')
    .option('--image-label <context>', 'with --label: the image label (default: the image type at the same level)')
    .option('--started <T>', 'when the allocation began (default now), for imports', parseTime)
    .option('--new', 'open a new allocation even if the VM holds one (the old one is ended)')
    .option(
      '--via-api <socket>',
      "record through serve's unix socket instead of the database (token in SVIRT_AUDIT_TOKEN)",
    )
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Prints the process label and the image label. Idempotent: a VM that already holds an
open allocation on the host gets it back. Exits 3 if the label is held by another VM
or the range is exhausted.

Examples:
  svirt-audit alloc --uuid 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 --vm web1
  svirt-audit alloc --uuid … --vm db1 --label system_u:system_r:svirt_t:s0:c10,c20
  svirt-audit alloc --uuid … --vm box --model apparmor --json`,
    );

  add('release', "end a VM's open allocation", () => import('./commands/release.js'))
    .requiredOption('--uuid <uuid>', 'VM uuid', parseUuid)
    .addOption(hostOption())
    .option('--ended <T>', 'when it ended (default now), for imports', parseTime)
    .addOption(jsonOption());

  add('relabel', 'record a relabel (or restore) a launcher performed', () => import('./commands/relabel.js'))
    .requiredOption('--uuid <uuid>', 'VM uuid', parseUuid)
    .requiredOption('--path <path>', 'the file that was relabelled')
    .requiredOption('--from <context>', 'its label before')
    .requiredOption('--to <context>', 'its label after (or the one that was attempted)')
    .option('--restore', 'this restored the original label at shutdown')
    .option('--error <message>', 'the relabel failed with this error')
    .addOption(hostOption())
    .addOption(jsonOption());

  add(
    'hook',
    "libvirt's hook entry point: hook qemu DOMAIN OP SUBOP EXTRA (domain XML on stdin)",
    () => import('./commands/hook.js'),
  )
    .argument('<object>', 'hook object (qemu)')
    .argument('<domain>', 'domain name')
    .argument('<op>', 'operation: prepare, start, started, stopped, release, …')
    .argument('[subop]', 'sub-operation: begin or end', '-')
    .argument('[extra]', 'extra argument', '-')
    .addHelpText(
      'after',
      `
Never fails a VM start: errors are logged to stderr (libvirt's log) and the hook exits
0, unless SVIRT_AUDIT_HOOK_STRICT=1. Waits at most SVIRT_AUDIT_HOOK_TIMEOUT_MS
(default 2000) for a locked database. Install it with: svirt-audit install-hook`,
    );

  add(
    'install-hook',
    'write the libvirt qemu hook script (restart or SIGHUP libvirtd afterwards)',
    () => import('./commands/install-hook.js'),
  )
    .option('--dir <path>', "libvirt's hooks directory", '/etc/libvirt/hooks')
    .addOption(
      new Option('--style <style>', 'qemu.d/svirt-audit (beside other hooks) or the single qemu script')
        .choices(['qemu.d', 'qemu'])
        .default('qemu.d'),
    )
    .option('--strict', 'make a failing hook refuse the VM start')
    .option(
      '--require-enforcing',
      'refuse to start a VM unless the host enforces its confinement (SELinux enforcing, AppArmor enabled)',
    )
    .option('--force', 'replace a qemu script that svirt-audit did not write');

  add(
    'ingest',
    'backfill audit logs into the store (a rotated series in any order; .gz; - for stdin)',
    () => import('./commands/ingest.js'),
  )
    .argument('<files...>', 'audit log files, e.g. /var/log/audit/audit.log*')
    .option('--finished', 'every file is complete: read a last line without its newline as it is')
    .addOption(hostOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Reads each file from where the last run stopped (its checkpoint), so running it again
stores nothing new. A last line without its newline in a file auditd may still be
writing (a plain file not named NAME.N) is a record cut mid-write: it is left for the
next run, which reads it whole (--finished reads it as it is). Records from other
hosts (node=) keep their host; --host names the host of records without one (default:
this host). Lines that are not audit records are kept with the reason. Plain files of
4 MiB and more are parsed on a second thread while the first writes; killed at any point,
the next run stores each record once. A progress bar shows on a terminal; --json
prints a summary.

Examples:
  svirt-audit ingest /var/log/audit/audit.log*
  ausearch --raw -m AVC -ts today | svirt-audit ingest -`,
    );

  add(
    'collect',
    'run the collector: follow the audit log, or read auditd’s dispatcher on stdin',
    () => import('./commands/collect.js'),
  )
    .option('--follow <path>', 'the log to follow (default /var/log/audit/audit.log)')
    .option('--audisp', 'read records on stdin as an auditd plugin (see docs/auditd-plugin.md)')
    .addOption(hostOption())
    .addHelpText(
      'after',
      `
Following survives rotation (rename or copy-truncate) and restarts: reading resumes from
the checkpoint stored with the last batch, and an event is stored once. A denial is
queryable within about 100 ms of being written; an event still waiting for its last
record is stored after 1 s of quiet.`,
    );

  const kindOption = () => new Option('--kind <kind>', 'only this kind').choices([...DENIAL_KINDS]);

  add('denials', 'the denials, attributed to VMs, newest first', () => import('./commands/denials.js'))
    .option('--vm <ref>', 'only denials of this VM (name or uuid)')
    .addOption(hostOption())
    .option('--since <T>', 'from this time (ISO 8601 or 90m, 24h, 7d)', parseTime)
    .option('--until <T>', 'up to this time', parseTime)
    .addOption(kindOption())
    .option('--limit <n>', 'at most N (default on a terminal: 50; with --json/--csv: all)', parsePositiveInt)
    .option('--csv', 'print CSV (columns in docs/cli-output.md)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Kinds: cross-vm, stale-label, unlabeled-target, shared-resource, apparmor-profile,
unattributed, policy (svirt-audit explain ID says what each means for one denial).

Examples:
  svirt-audit denials --vm web1 --since 24h
  svirt-audit denials --kind cross-vm --json
  svirt-audit denials --kind cross-vm --db postgres://analyst@fleet/svirt_audit   # every host`,
    );

  add(
    'summary',
    'per VM: what was denied, grouped, with counts and first/last seen',
    () => import('./commands/summary.js'),
  )
    .option('--vm <ref>', 'only this VM (name or uuid)')
    .option('--host <name>', 'only denials on this host')
    .option('--since <T>', 'from this time', parseTime)
    .option('--until <T>', 'up to this time', parseTime)
    .addOption(jsonOption())
    .addHelpText('after', '\nWith --db postgres://… it answers over every host of the fleet.');

  add(
    'explain',
    'one denial: raw records, attribution, probable cause, evidence, fix',
    () => import('./commands/explain.js'),
  )
    .argument('<id>', 'denial id (from denials or summary)')
    .addOption(jsonOption());

  add('watch', 'print denials as they are stored, attributed', () => import('./commands/watch.js'))
    .option('--interval <ms>', 'how often to look (ms)', parsePositiveInt)
    .addOption(jsonOption());

  add(
    'serve',
    'the collector and the HTTP API in one process (127.0.0.1:8785 by default)',
    () => import('./commands/serve.js'),
  )
    .option('--listen <host:port>', 'TCP address', '127.0.0.1:8785')
    .option('--socket <path>', 'also listen on this unix socket (mode 0660)')
    .option('--follow <path>', 'the audit log to follow (default /var/log/audit/audit.log when present)')
    .option('--no-follow', 'serve the store without following a log')
    .option('--tokens <file>', 'bearer token file (default: tokens beside the database)')
    .option('--allow-remote', 'allow --listen beyond loopback (needs a token file)')
    .option('--keep <span>', 'remove denials and events older than this (default 90d)', parseSpanOption)
    .option(
      '--max-size <size>',
      'bound on the store (default: a tenth of its file system, 256M to 10G); the oldest records go first',
      parseSizeOption,
    )
    .option('--keep-labels <span>', 'keep ended allocations and relabels this long (default 400d)', parseSpanOption)
    .option(
      '--alerts <file>',
      'alert rules and receivers, JSON mode 0600 (default /etc/svirt-audit/alerts.json when present; docs/alerts.md)',
    )
    .option('--no-alerts', 'raise no alerts (by default cross-vm and stale-label denials go to the outbox)')
    .option(
      '--syslog <dest>',
      'also send every denial to syslog (RFC 5424): unix:/dev/log, udp://host:514, tcp://host:514, tls://host:6514[?ca=FILE]',
      parseSyslogOption,
    )
    .addOption(
      new Option('--ship-to <url>', "also ship this host's records to the fleet (postgres://…)").env(
        'SVIRT_AUDIT_FLEET_URL',
      ),
    )
    .option(
      '--store <url>',
      "the fleet's central server: answer the read routes for every host from this postgres://… (no collector)",
    )
    .option(
      '--read-threads <n>',
      'threads answering denial lists and summaries, each with its own read connection (default: one per core, at most 4; 0: on the main thread)',
      parseThreadCount,
    )
    .addOption(
      new Option('--log-level <level>', 'request log level')
        .choices(['fatal', 'error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .addOption(hostOption())
    .addHelpText(
      'after',
      `
API: /v1/vms, /v1/denials, /v1/allocations, /v1/relabels, /v1/stream (SSE), /healthz,
/metrics; the OpenAPI document is at /v1/openapi.json, errors in docs/api.md. Without a
token file, reads are open on loopback only and writes are refused. SIGHUP reloads tokens
and the alert config (one that no longer loads is logged and the running rules kept).
Syslog (docs/siem.md): --syslog sends one message per denial stored from now on, with
its fields as structured data; a restart resumes after the last one sent.
Alerts (docs/alerts.md): every cross-vm and stale-label denial, grouped per VM and kind
per 5 minutes, goes to the outbox (svirt-audit alerts) and to the receivers of --alerts.
Fleet (docs/fleet.md): --ship-to postgres://… also sends this host's records to the fleet;
--store postgres://… instead runs the fleet's central server, answering /v1/denials,
/v1/vms, /v1/allocations, /v1/hosts and /v1/stream for every host (no collector, no
writes, no alerts or syslog: those run on each host).`,
    );

  add(
    'prune',
    'remove old records now; serve does this on its own (--keep, --max-size)',
    () => import('./commands/prune.js'),
  )
    .option('--older-than <span>', 'remove denials and events older than this (e.g. 90d)', parseSpanOption)
    .option(
      '--max-size <size>',
      'then remove the oldest until the store uses less than 90% of this (e.g. 2G)',
      parseSizeOption,
    )
    .option(
      '--keep-labels <span>',
      'keep ended allocations and relabels this long (default 400d; never less than --older-than)',
      parseSpanOption,
    )
    .option('--compact', 'rewrite the file without its free pages (once, for a file made by an older release)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Records under a hold (svirt-audit hold) are kept. Each step is a short transaction, so
the collector and the libvirt hook go on while it runs. Events older than what was
pruned are not stored again when an old log is read (ingest reports them as skipped).

Examples:
  svirt-audit prune --older-than 90d
  svirt-audit prune --max-size 2G --json`,
    );

  add(
    'hold',
    "keep a VM's records out of pruning (an incident), list or release holds",
    () => import('./commands/hold.js'),
  )
    .option('--vm <name|uuid>', 'the VM whose records to keep')
    .option('--reason <text>', 'why (a ticket or incident id); required with --vm')
    .option('--since <T>', 'keep from this time (default: all of its history)', parseTime)
    .option('--until <T>', 'keep up to this time (default: on, including what comes)', parseTime)
    .option('--list', 'list the active holds')
    .option('--all', 'with --list: released holds too')
    .option('--release <id>', 'release a hold', parsePositiveInt)
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
A hold keeps the VM's denials (as source or target), their events and raw records, its
allocations and relabels. Reports list the holds covering them.

Examples:
  svirt-audit hold --vm web1 --reason "INC-1234" --since 2026-11-01
  svirt-audit hold --list
  svirt-audit hold --release 3`,
    );

  add(
    'alerts',
    'the alert outbox: what was sent, is pending, or failed, per receiver',
    () => import('./commands/alerts.js'),
  )
    .addOption(
      new Option('--state <state>', 'only alerts in this state').choices([
        'collecting',
        'pending',
        'sent',
        'failed',
        'unrouted',
      ]),
    )
    .option('--since <T>', 'only alerts opened from this time', parseTime)
    .option('--limit <n>', 'at most this many, newest first', parsePositiveInt, 100)
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
serve raises the alerts (docs/alerts.md): by default one per VM and kind per 5 minutes for
cross-vm and stale-label denials; --alerts FILE adds receivers (webhook, Alertmanager,
Slack), thresholds and critical VMs. States: collecting (waiting for its group time or
threshold), pending (a receiver is being retried), sent, failed (a receiver gave up),
unrouted (no receiver was configured).

Examples:
  svirt-audit alerts --state failed
  svirt-audit alerts --since 24h --json`,
    );

  add(
    'export',
    'denials for a SIEM, oldest first, one per line: ECS, CEF or JSON',
    () => import('./commands/export.js'),
  )
    .addOption(new Option('--format <format>', 'ecs, cef or jsonl').choices(['ecs', 'cef', 'jsonl']).default('jsonl'))
    .option('--since <T>', 'only denials from this time', parseTime)
    .option('--follow', 'keep writing denials as they are stored, until SIGTERM')
    .option('--position <file>', 'resume after the last denial written (saved in FILE after each batch)')
    .addHelpText(
      'after',
      `
Field mappings (ECS: event.*, host.name, process.*, file.*, ours under svirt_audit.*; CEF
extension keys) are in docs/siem.md. Granted (auditallow) records are not exported.
--db postgres://… exports the fleet's denials as hosts ship them (the position is then a
cursor per host). serve --syslog sends each denial to syslog as it is stored.

Examples:
  svirt-audit export --format ecs --since 7d > denials.ndjson
  svirt-audit export --format cef --follow --position /var/lib/svirt-audit/cef.pos | logger -t svirt-audit
  svirt-audit export --db postgres://svirt_reader@fleet.example/svirt_audit --format ecs --follow --position fleet.pos`,
    );

  add(
    'ship',
    "send this host's records to the fleet's PostgreSQL (see docs/fleet.md)",
    () => import('./commands/ship.js'),
  )
    .addOption(new Option('--to <url>', 'the fleet database: postgres://ROLE@SERVER/DB').env('SVIRT_AUDIT_FLEET_URL'))
    .option('--follow', 'keep shipping as records arrive, until SIGTERM (retries while the fleet is down)')
    .option('--status', 'print how far behind the fleet is, and ship nothing')
    .option('--host <name>', "ship this host's rows (default: the host the role ships for)")
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Reads the local database (--db) and writes what the fleet does not have yet, in batches,
each with the host's new position in one PostgreSQL transaction: nothing is lost or sent
twice when either side stops. The password comes from ~/.pgpass or PGPASSWORD, never
from the command line.

Examples:
  svirt-audit ship --to postgres://svirt_host_hv1@fleet.example/svirt_audit
  svirt-audit ship --follow          # as a service, with SVIRT_AUDIT_FLEET_URL set
  svirt-audit ship --status --json`,
    );

  add('fleet', "the fleet administrator's commands on the central PostgreSQL", () => import('./commands/fleet.js'))
    .argument('<action>', 'init, add-host, add-reader, hosts or prune')
    .argument('[name]', 'the host (add-host) or the role (add-reader)')
    .option('--role <role>', 'add-host: the login role that ships for the host (default svirt_host_NAME)')
    .option('--password-file <file>', "add-host, add-reader: set the role's password from this file")
    .option('--older-than <span>', 'prune: drop the months of events and denials older than this', parseSpanOption)
    .option(
      '--keep-labels <span>',
      'prune: keep ended allocations and relabels this long (default 400d; at least a month past --older-than)',
      parseSpanOption,
    )
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
--db is the fleet database as its administrator (the owner of the schema).
  init        create or upgrade the schema (numbered migrations)
  add-host    make a login role that may write only this host's rows
  add-reader  make a login role that reads every host (the central serve, analysts)
  hosts       the hosts and how far each has shipped
  prune       drop whole months of events and denials, and allocations ended long ago

Examples:
  svirt-audit fleet init --db postgres:///svirt_audit?host=/var/run/postgresql
  svirt-audit fleet add-host hv1 --password-file /root/hv1.pw --db …
  svirt-audit fleet prune --older-than 180d --db …`,
    );

  const token = program.command('token').description('manage API bearer tokens');
  token
    .command('create')
    .description('create a token and print it once (only its hash is stored)')
    .addOption(
      new Option('--role <role>', 'reader (GET routes) or recorder (allocation and relabel writes)')
        .choices(['reader', 'recorder'])
        .makeOptionMandatory(),
    )
    .option('--tokens <file>', 'token file (default: tokens beside the database)')
    .option('--label <text>', 'a note stored beside the hash')
    .addOption(dbOption())
    .exitOverride()
    .configureOutput(output)
    .action(async (_opts: unknown, command: Command) => {
      const mod = await import('./commands/token.js');
      io.exitCode = mod.run(command.opts() as never, command.args, io);
    });

  const reportCmd = add(
    'report',
    'an incident report for one VM: findings, timeline, every denial, raw evidence, hashes',
    () => import('./commands/report.js'),
  )
    .option('--vm <ref>', 'the VM (name or uuid)')
    .addOption(
      new Option('--format <format>', 'json, csv, md or html').choices(['json', 'csv', 'md', 'html']).default('md'),
    )
    .option('--since <T>', 'from this time', parseTime)
    .option('--until <T>', 'up to this time', parseTime)
    .option('--out <file>', 'write to this file (mode 0600) instead of stdout')
    .addHelpText(
      'after',
      `
json holds everything (schema in docs/report-schema.md); csv the denial list; md reads in a
ticket; html is one self-contained file. json, md and html end with SHA-256 hashes of the
evidence and of the whole report; a csv --out FILE gets its hash in FILE.sha256 beside it
(sha256sum's format). svirt-audit report verify FILE checks either. With --db postgres://…
the report covers the VM on every host of the fleet.`,
    );
  reportCmd
    .command('verify')
    .description('recompute the hashes of a report and say whether it was altered (exit 7 if so)')
    .argument('<file>', 'a json, md or html report, or a csv report with FILE.sha256 beside it')
    .exitOverride()
    .configureOutput(output)
    .action(async (file: string) => {
      const mod = await import('./commands/report.js');
      io.exitCode = mod.verify(file, io);
    });

  add(
    'launch',
    'allocate, relabel the disks, set the exec context and exec CMD in place (OpenXT-style interposer)',
    () => import('./commands/launch.js'),
  )
    .requiredOption('--uuid <uuid>', 'VM uuid', parseUuid)
    .requiredOption('--vm <name>', 'VM name')
    .addOption(
      new Option('--model <model>', 'security model (auto: SELinux if enabled, else AppArmor, else none)')
        .choices(['auto', 'selinux', 'apparmor', 'none'])
        .default('auto'),
    )
    .option(
      '--disk <path[:ro|:shared][:fmt=qcow2]>',
      'a disk to label (repeatable): writable and raw by default; only fmt=qcow2 has its backing chain followed',
      parseDisk,
    )
    .option(
      '--backing-dir <dir>',
      "where backing files may be besides each image's own directory (repeatable)",
      parseBackingDir,
    )
    .option('--tcg', 'use the TCG domain type (svirt_tcg_t)')
    .option(
      '--require-enforcing',
      'refuse to start (exit 3, nothing changed) unless the host enforces the model: SELinux enforcing, AppArmor enabled',
    )
    .addOption(hostOption())
    .argument('<command...>', 'the command to exec, after --')
    .addHelpText(
      'after',
      `
Writable disks get the VM's image label, :shared ones svirt_image_t:s0, :ro ones the
content label, and so do the backing files of an overlay given as :fmt=qcow2 (read from
its header; QEMU opens them read-only). A disk's format is never guessed: a raw disk's
content is the guest's, and a qcow2 header written there must not name host files. A
layer is read as qcow2 only when its parent records that format (qemu-img create -F), and
must resolve inside the image's own directory or a --backing-dir; otherwise nothing is
relabelled and launch exits 2. Each original label is remembered in
trusted.svirt-audit.label. A disk on a filesystem that keeps no labels (NFS) or is
mounted read-only is left as it is with a warning, as libvirt does; any other failure
restores what was changed and releases the allocation. The command replaces this
process (same pid), so the caller sees QEMU's pid and exit status. After QEMU exits,
svirt-audit reap (serve runs it every 30 s) restores the labels and closes the allocation.

Example:
  svirt-audit launch --uuid … --vm web1 --disk /images/web1.qcow2:fmt=qcow2 --backing-dir /images/golden \\
    --disk /iso/tools.iso:ro -- qemu-system-x86_64 -name web1 …`,
    );

  add(
    'reap',
    'close allocations whose process is gone, restoring remembered disk labels',
    () => import('./commands/reap.js'),
  )
    .addOption(hostOption())
    .addOption(jsonOption());

  add(
    'demo',
    'build a realistic scenario in a fresh database and show what svirt-audit answers',
    () => import('./commands/demo.js'),
  )
    .option('--serve [host:port]', 'then serve the dashboard and the API on it (default 127.0.0.1:8785), until Ctrl-C')
    .addHelpText(
      'after',
      '\nNeeds no root and no audit daemon. Prints the database path to explore further;\nwith --serve, the URL of the dashboard over it.',
    );

  add('vms', 'VMs known from their allocations', () => import('./commands/vms.js')).addOption(jsonOption());

  add(
    'allocations',
    'allocations over time: which VM held which label, when',
    () => import('./commands/allocations.js'),
  )
    .option('--vm <ref>', 'only this VM (name or uuid)')
    .addOption(hostOption())
    .option('--open', 'only allocations still open')
    .option('--limit <n>', 'at most N rows', parsePositiveInt)
    .addOption(jsonOption());

  return program;
}

/** Run the CLI on `argv` (without node and script). Resolves to the exit status. */
/**
 * libvirt passes domain names verbatim, and a VM may be called `-x`, `--help` or
 * `--db=x.db`: after `hook OBJECT` every word is data. The words before the object may
 * name the database (`--db PATH`, `--db=PATH`); `hook` alone or with `--help` is for people.
 */
function hookCall(argv: readonly string[]): { db?: string; args: string[] } | undefined {
  if (argv[0] !== 'hook') return undefined;
  let db: string | undefined;
  let i = 1;
  for (;;) {
    const word = argv[i];
    if (word === '--db' && argv[i + 1] !== undefined) {
      db = argv[i + 1];
      i += 2;
    } else if (word?.startsWith('--db=')) {
      db = word.slice('--db='.length);
      i += 1;
    } else break;
  }
  const object = argv[i];
  if (object === undefined || object.startsWith('-')) return undefined;
  return { ...(db !== undefined && { db }), args: argv.slice(i) };
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const hook = hookCall(argv);
  if (hook) {
    const { run } = await import('./commands/hook.js');
    return run(hook.db === undefined ? {} : { db: hook.db }, hook.args, io);
  }
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return io.exitCode ?? 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return 0;
      }
      return 2;
    }
    const { message, status } = formatError(error);
    io.stderr.write(message);
    return status;
  }
}
