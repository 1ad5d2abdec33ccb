/**
 * One VM: which label it held on which host and when, and its denials, filtered by kind,
 * class and permission and paged by the API's cursor; the filters live in the URL.
 */

import { DENIAL_KINDS } from '../../core/denial-kind.js';
import type { DenialPage, Vm as VmJson } from './api.js';
import { DenialChart, type Histogram } from './denial-chart.js';
import { LabelTimeline, type Timeline } from './label-timeline.js';
import { DenialTable, Show, when } from './parts.js';
import { ReportDownloads } from './report-download.js';
import { VmFindings } from './vm-findings.js';
import { href, navigate, type Route } from './route.js';
import { useApi } from './use-api.js';

const FILTERS = ['kind', 'tclass', 'perm', 'since', 'until', 'cursor'] as const;

/** The filters typed as text: the key, its label, an example. */
const TEXT_FILTERS = [
  ['tclass', 'Class', 'file'],
  ['perm', 'Permission', 'read'],
  ['since', 'Since', '24h'],
  ['until', 'Until', '2026-12-01T00:00:00Z'],
] as const;

export function Vm(props: { name: string; route: Route }) {
  const { name, route } = props;
  const filters = Object.fromEntries(FILTERS.map((f) => [f, route.params.get(f) ?? undefined]));
  const query = new URLSearchParams({ limit: '50' });
  for (const [k, v] of Object.entries(filters)) if (v) query.set(k, v);
  const vm = useApi<VmJson>(`/v1/vms/${encodeURIComponent(name)}`);
  const timeline = useApi<Timeline>(`/v1/vms/${encodeURIComponent(name)}/timeline`);
  const denials = useApi<DenialPage>(`/v1/vms/${encodeURIComponent(name)}/denials?${query}`);
  // The chart spans the table's time filter, or the last 7 days.
  const span = new URLSearchParams({ vm: name, since: filters.since ?? '7d', buckets: '56' });
  if (filters.until) span.set('until', filters.until);
  const chart = useApi<Histogram>(`/v1/denials/histogram?${span}`);
  const go = (next: Record<string, string | undefined>) =>
    navigate(href(['vms', name], { ...filters, cursor: undefined, ...next }));
  return (
    <>
      <p>
        <a href={href(['vms'])}>VMs</a> › {name}
      </p>
      <h1>{name}</h1>
      <Show loaded={vm} what="the VM">
        {(v) => (
          <p>
            {v.uuid} · seen {when(v.firstSeen)} to {when(v.lastSeen)} on {v.hosts.join(', ')}
          </p>
        )}
      </Show>
      <section aria-labelledby="h-labels">
        <h2 id="h-labels">Label history</h2>
        <Show loaded={timeline} what="its label history">
          {(t) => (
            <>
              <LabelTimeline timeline={t} />
              <table>
                <caption>Which label it held, on which host, from when to when</caption>
                <thead>
                  <tr>
                    <th scope="col">Host</th>
                    <th scope="col">Label</th>
                    <th scope="col">From</th>
                    <th scope="col">To</th>
                    <th scope="col">Recorded by</th>
                  </tr>
                </thead>
                <tbody>
                  {/* Newest first, as the allocations list; the timeline reads oldest first. */}
                  {[...t.allocations].reverse().map((a) => (
                    <tr key={`${a.host}-${a.startedAt}`}>
                      <td>{a.host}</td>
                      <td class="path">{a.label}</td>
                      <td>{when(a.startedAt)}</td>
                      <td>{a.endedAt ? when(a.endedAt) : 'running'}</td>
                      <td>{a.source ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </Show>
      </section>
      <VmFindings name={name} since={filters.since} until={filters.until} />
      <section aria-labelledby="h-denials">
        <h2 id="h-denials">Denials</h2>
        <Show loaded={chart} what="its denials over time">
          {(h) => (
            <DenialChart
              histogram={h}
              label={`Denials of ${name} over time by kind`}
              hrefFor={(from, to) => href(['vms', name], { ...filters, cursor: undefined, since: from, until: to })}
            />
          )}
        </Show>
        {(filters.since || filters.until) && (
          <p>
            <a href={href(['vms', name], { ...filters, cursor: undefined, since: undefined, until: undefined })}>
              Every time
            </a>
          </p>
        )}
        <form class="controls" onSubmit={(e) => e.preventDefault()}>
          <label>
            Kind{' '}
            <select value={filters.kind ?? ''} onChange={(e) => go({ kind: (e.target as HTMLSelectElement).value })}>
              <option value="">every kind</option>
              {DENIAL_KINDS.map((k) => (
                <option value={k}>{k}</option>
              ))}
            </select>
          </label>
          {TEXT_FILTERS.map(([key, label, placeholder]) => (
            <label>
              {label}{' '}
              <input
                value={filters[key] ?? ''}
                placeholder={placeholder}
                onChange={(e) => go({ [key]: (e.target as HTMLInputElement).value })}
              />
            </label>
          ))}
        </form>
        <Show loaded={denials} what="its denials">
          {(p) => (
            <>
              <DenialTable denials={p.items} caption={`Denials of ${name}, newest first`} />
              <p>
                {filters.cursor && <a href={href(['vms', name], { ...filters, cursor: undefined })}>First page</a>}{' '}
                {p.next && <a href={href(['vms', name], { ...filters, cursor: p.next })}>Older denials</a>}
              </p>
            </>
          )}
        </Show>
      </section>
      <ReportDownloads name={name} />
    </>
  );
}
