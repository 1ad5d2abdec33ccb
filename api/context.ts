/** What the routes share: the store, the tokens, live notifications, collector status. */

import type { AlertingStatus } from '../alerts/alerting.js';
import type { FollowerStatus } from '../collector/follow.js';
import type { SyslogStatus } from '../syslog/syslog-forwarder.js';
import type { ShipStatus } from '../fleet/shipper.js';
import type { RetentionStatus } from '../retention/runner.js';
import type { Store } from '../store/store.js';
import type { Answerer } from './answer-pool.js';
import type { DenialNotifier } from './denial-notifier.js';
import type { Metrics } from './metrics.js';
import type { TokenSet } from './tokens.js';

export interface ApiContext {
  store: Store;
  /** Current tokens (SIGHUP reloads them). */
  tokens: () => TokenSet;
  notifier: DenialNotifier;
  metrics: Metrics;
  /** The host records default to (`alloc` without --host). */
  localHost: string;
  /** Runs the heavy read answers: in this thread (tests) or on worker threads (`serve`). */
  answers: Answerer;
  /** The in-process collector's status, when serve follows a log. */
  collector?: () => FollowerStatus;
  /** What serve's retention keeps and has removed, when it runs one. */
  retention?: () => RetentionStatus;
  /** How far the fleet is behind, when serve ships to one. */
  shipping?: () => ShipStatus;
  /** The alert outbox's deliveries by state, when serve raises alerts. */
  alerting?: () => AlertingStatus;
  /** The syslog forwarder's destination, progress and failures, when serve forwards. */
  syslog?: () => SyslogStatus;
}
