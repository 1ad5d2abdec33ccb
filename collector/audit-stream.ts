/**
 * The pure pipeline: byte chunks (or lines) in; completed events with their denials and
 * facts, and unparsed lines, out. No I/O: the sources (follow, audisp, backfill) feed it,
 * the store writer and the tests are sinks.
 *
 * Events without a record type we care about (record-types / denial.ts
 * isInterestingType) are counted and dropped without parsing their bodies: on a host
 * that audits syscalls they are most of the log.
 */

import { type AssemblerCounters, type AssemblerOptions, type AuditEvent, EventAssembler } from './assemble.js';
import { AuditRecord, type ParsedItem, parseAuditLine, type UnparsedLine } from './audit-record.js';
import { type EventFindings, eventIsInteresting, extractFindings } from './denial.js';
import { LineSplitter } from './line-splitter.js';

export interface AuditStreamSink {
  /** A completed event that may hold findings, with them. */
  event(event: AuditEvent, findings: EventFindings): void;
  /** A line that is not an audit record. */
  unparsed(item: UnparsedLine): void;
  /** An event the `holdBack` option picked: handed over as it is, nothing extracted. */
  held?(event: AuditEvent): void;
}

export interface AuditStreamOptions extends AssemblerOptions {
  /** Byte offset of the first chunk in its source (a resumed file). */
  startOffset?: number;
  maxLineBytes?: number;
  /** Emit every event, not only those that may hold findings (tests, differential checks). */
  allEvents?: boolean;
  /**
   * Events to hand to `sink.held` instead of extracting them: a parser of one byte range
   * of a file holds back those that may continue in the range before or after it
   * (collector/parallel-parse.ts).
   */
  holdBack?: (event: AuditEvent) => boolean;
}

export interface AuditStreamCounters extends AssemblerCounters {
  lines: number;
  unparsed: number;
  /** Events handed to the sink. */
  emitted: number;
  denials: number;
  facts: number;
  /** Problems inside records that were still read (cut-short values, duplicate fields). */
  warnings: number;
  /** ausearch's `----` lines (input that is ausearch output, not a raw log). */
  separators: number;
}

export class AuditStream {
  readonly #sink: AuditStreamSink;
  readonly #assembler: EventAssembler;
  readonly #splitter: LineSplitter;
  readonly #allEvents: boolean;
  readonly #holdBack: ((event: AuditEvent) => boolean) | undefined;
  readonly #counts = { lines: 0, unparsed: 0, emitted: 0, denials: 0, facts: 0, warnings: 0, separators: 0 };
  #lineOffset = -1;
  readonly #onItem = (item: ParsedItem): void => {
    if (item instanceof AuditRecord) {
      item.offset = this.#lineOffset;
      this.#assembler.push(item);
    } else if (item.kind === 'separator') {
      this.#counts.separators++;
      this.#assembler.separator();
    } else {
      item.offset = this.#lineOffset;
      this.#counts.unparsed++;
      this.#sink.unparsed(item);
    }
  };

  constructor(sink: AuditStreamSink, options: AuditStreamOptions = {}) {
    this.#sink = sink;
    this.#allEvents = options.allEvents ?? false;
    this.#holdBack = options.holdBack;
    this.#assembler = new EventAssembler((event) => this.#onEvent(event), options);
    this.#splitter = new LineSplitter(
      {
        line: (text, offset) => this.pushLine(text, offset),
        overlong: (head, offset, bytes) => {
          this.#counts.lines++;
          this.#counts.unparsed++;
          this.#sink.unparsed({
            kind: 'unparsed',
            line: head,
            reason: 'too-long',
            detail: `line of ${bytes} bytes; records are at most 8970 bytes`,
            offset,
          });
        },
      },
      {
        ...(options.startOffset !== undefined && { startOffset: options.startOffset }),
        ...(options.maxLineBytes !== undefined && { maxLineBytes: options.maxLineBytes }),
      },
    );
  }

  /** Bytes in. Never throws on content. The caller may reuse `chunk` once this returns. */
  push(chunk: Buffer): void {
    this.#splitter.push(chunk);
  }

  /** One line in (no newline), with its byte offset when known. */
  pushLine(line: string, offset = -1): void {
    this.#counts.lines++;
    this.#lineOffset = offset;
    parseAuditLine(line, this.#onItem);
  }

  /** See EventAssembler.flushIdle. */
  flushIdle(now: number, idleMs: number): void {
    this.#assembler.flushIdle(now, idleMs);
  }

  /**
   * End of input: every open event is handed out, and so is a last line without its
   * newline, unless `holdPartialLine` (the file is still being written: the rest of that
   * line is still to come, so it stays unread and completeOffset stays before it).
   */
  end(options: { holdPartialLine?: boolean } = {}): void {
    if (!options.holdPartialLine) this.#splitter.end();
    this.#assembler.close();
  }

  /** Bytes of a last line still waiting for its newline. */
  get partialLineBytes(): number {
    return this.#splitter.pendingBytes;
  }

  /** Byte offset just past the last complete line read. */
  get completeOffset(): number {
    return this.#splitter.completeOffset;
  }

  get inFlight(): number {
    return this.#assembler.inFlight;
  }

  /**
   * Where reading may safely resume: past every complete line, but not past a record of
   * an event that is still open (it is not stored yet).
   */
  get checkpointOffset(): number {
    const open = this.#assembler.oldestOpenOffset();
    const complete = this.#splitter.completeOffset;
    return open === undefined ? complete : Math.min(open, complete);
  }

  get counters(): AuditStreamCounters {
    return { ...this.#assembler.counters, ...this.#counts };
  }

  #onEvent(event: AuditEvent): void {
    if (this.#holdBack?.(event)) {
      this.#sink.held?.(event);
      return;
    }
    if (!this.#allEvents && !eventIsInteresting(event)) return;
    const findings = extractFindings(event);
    for (const r of event.records) this.#counts.warnings += r.parseWarningCount;
    this.#counts.emitted++;
    this.#counts.denials += findings.denials.length;
    this.#counts.facts += findings.facts.length;
    this.#sink.event(event, findings);
  }
}
