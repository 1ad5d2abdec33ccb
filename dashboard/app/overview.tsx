/** The overview: what to look at first (cross-VM and stale-label findings), then the newest denials. */

import type { DenialPage } from './api.js';
import { DenialChart, type Histogram } from './denial-chart.js';
import { type LiveState, useLiveDenials, withLive } from './live.js';
import { DenialTable, Show, when } from './parts.js';
import { useApi } from './use-api.js';

/** A host as GET /v1/hosts answers on a host's serve and on the fleet's central server. */
interface HostRow {
  name: string;
  enforcing: boolean | null;
  enforcingSince: string | null;
  newestRecord?: string | null;
  shippedUpTo?: string | null;
  lastShippedAt?: string | null;
  now?: { selinux: string; apparmor: string };
  collector?: { following: string; lagBytes: number } | null;
}

function logged(h: HostRow): string {
  if (h.enforcing === null) return 'no MAC_STATUS record';
  return `${h.enforcing ? 'enforcing' : 'permissive'} since ${when(h.enforcingSince ?? '')}`;
}

export function Overview() {
  const live = useLiveDenials();
  const hosts = useApi<HostRow[]>('/v1/hosts');
  // The last 7 days: a kind is known only once a denial is attributed, so a kind filter
  // reads every denial of its window (about 0.25 s a day at 33,000 denials a day).
  const crossVm = useApi<DenialPage>('/v1/denials?kind=cross-vm&since=7d&limit=20');
  const stale = useApi<DenialPage>('/v1/denials?kind=stale-label&since=7d&limit=20');
  const newest = useApi<DenialPage>('/v1/denials?limit=25');
  const day = useApi<Histogram>('/v1/denials/histogram?since=24h&buckets=48');
  return (
    <>
      <h1>Overview</h1>
      <section aria-labelledby="h-hosts">
        <h2 id="h-hosts">Hosts</h2>
        <Show loaded={hosts} what="the hosts">
          {(list) => (
            <table>
              <caption>Each host's confinement and how far its records reach</caption>
              <thead>
                <tr>
                  <th scope="col">Host</th>
                  <th scope="col">Enforcing, as its log last said</th>
                  <th scope="col">Now</th>
                  <th scope="col">Newest record</th>
                  <th scope="col">Collector</th>
                </tr>
              </thead>
              <tbody>
                {list.map((h) => (
                  <tr key={h.name}>
                    <td>{h.name}</td>
                    <td class={h.enforcing === false ? 'problem' : ''}>{logged(h)}</td>
                    <td>{h.now ? `SELinux ${h.now.selinux}, AppArmor ${h.now.apparmor}` : ''}</td>
                    <td>
                      {h.newestRecord !== undefined
                        ? h.newestRecord && when(h.newestRecord)
                        : h.shippedUpTo && `${when(h.shippedUpTo)} (shipped ${when(h.lastShippedAt ?? '')})`}
                    </td>
                    <td>
                      {h.collector === undefined
                        ? ''
                        : h.collector === null
                          ? 'not following a log'
                          : `${h.collector.following}, ${h.collector.lagBytes} bytes behind`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Show>
      </section>
      <section aria-labelledby="h-day">
        <h2 id="h-day">The last 24 hours</h2>
        <Show loaded={day} what="the last 24 hours">
          {(h) => <DenialChart histogram={h} label="Denials in the last 24 hours by kind, one bar per half hour" />}
        </Show>
      </section>
      <section aria-labelledby="h-findings">
        <h2 id="h-findings">Findings of the last 7 days: one VM denied another's files</h2>
        <Show loaded={crossVm} what="cross-VM denials">
          {(p) => <DenialTable denials={p.items} caption="Cross-VM denials of the last 7 days, newest first" />}
        </Show>
        <Show loaded={stale} what="stale-label denials">
          {(p) => <DenialTable denials={p.items} caption="Stale-label denials of the last 7 days, newest first" />}
        </Show>
      </section>
      <section aria-labelledby="h-newest">
        <h2 id="h-newest">
          Newest denials <LiveBadge state={live.state} />
        </h2>
        <Show loaded={newest} what="the newest denials">
          {(p) => (
            <DenialTable
              denials={withLive(live.denials, p.items).slice(0, 50)}
              caption="The newest denials of every kind; new ones appear as they are stored"
            />
          )}
        </Show>
      </section>
    </>
  );
}

/** Whether new denials are arriving, said in words (not colour alone) and to screen readers. */
export function LiveBadge(props: { state: LiveState }) {
  const text = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…' }[props.state];
  return (
    <span class={`live live-${props.state}`} role="status" aria-live="polite">
      {text}
    </span>
  );
}
