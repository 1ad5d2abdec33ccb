/** The ordered list of migrations; version N is entry N-1. Append only, never edit a shipped one. */

import type Database from 'better-sqlite3';
import { up as initial } from './0001-initial.js';
import { up as auditTrail } from './0002-audit-trail.js';
import { up as allocationGeneration } from './0003-allocation-generation.js';
import { up as answerCache } from './0004-answer-cache.js';
import { up as leanerDenialIndexes } from './0005-leaner-denial-indexes.js';
import { up as allocationByProfile } from './0006-allocation-by-profile.js';
import { up as followedPath } from './0007-followed-path.js';
import { up as retention } from './0008-retention.js';
import { up as rawBlocks } from './0009-raw-blocks.js';
import { up as denialShapes } from './0010-denial-shapes.js';
import { up as unparsedLineTime } from './0011-unparsed-line-time.js';
import { up as allocationChanges } from './0012-allocation-changes.js';
import { up as alerts } from './0013-alerts.js';

export interface Migration {
  readonly name: string;
  readonly up: (db: Database.Database) => void;
}

export const migrations: readonly Migration[] = [
  { name: '0001-initial', up: initial },
  { name: '0002-audit-trail', up: auditTrail },
  { name: '0003-allocation-generation', up: allocationGeneration },
  { name: '0004-answer-cache', up: answerCache },
  { name: '0005-leaner-denial-indexes', up: leanerDenialIndexes },
  { name: '0006-allocation-by-profile', up: allocationByProfile },
  { name: '0007-followed-path', up: followedPath },
  { name: '0008-retention', up: retention },
  { name: '0009-raw-blocks', up: rawBlocks },
  { name: '0010-denial-shapes', up: denialShapes },
  { name: '0011-unparsed-line-time', up: unparsedLineTime },
  { name: '0012-allocation-changes', up: allocationChanges },
  { name: '0013-alerts', up: alerts },
];
