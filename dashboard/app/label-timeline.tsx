/**
 * A VM's label history as a timeline (`/v1/vms/:ref/timeline`): one lane per host, one bar
 * per allocation from its start to its end (or now), ticks where a disk was relabelled,
 * failed relabels marked. Each mark says what it is on hover and to screen readers; the
 * table beside it holds the same facts.
 */

import type { Allocation } from './api.js';
import { when } from './parts.js';

export interface Timeline {
  name: string;
  /** Oldest first, each with its relabels. */
  allocations: (Allocation & {
    categories: string;
    relabels: { path: string; action: string; labelAfter: string | null; error: string | null; at: string }[];
  })[];
}

const WIDTH = 960;
const LANE = 28;

export function LabelTimeline(props: { timeline: Timeline }) {
  const { allocations } = props.timeline;
  if (allocations.length === 0) return <p class="quiet">No allocation recorded.</p>;
  const hosts = [...new Set(allocations.map((a) => a.host))];
  const now = Date.now();
  const start = Math.min(...allocations.map((a) => Date.parse(a.startedAt)));
  const end = Math.max(start + 1, ...allocations.map((a) => (a.endedAt ? Date.parse(a.endedAt) : now)));
  const x = (iso: string | null) => (((iso ? Date.parse(iso) : now) - start) / (end - start)) * (WIDTH - 80) + 70;
  const height = hosts.length * LANE + 20;
  const failed = allocations.flatMap((a) => a.relabels).filter((r) => r.error !== null).length;
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${height}`}
        class="timeline"
        role="group"
        aria-label={`Label history of ${props.timeline.name}`}
      >
        {hosts.map((host, lane) => (
          <text x={0} y={lane * LANE + 18} class="lane">
            {host}
          </text>
        ))}
        {allocations.map((a) => {
          const lane = hosts.indexOf(a.host);
          const said = `${a.label ?? a.categories} on ${a.host}, ${when(a.startedAt)} to ${a.endedAt ? when(a.endedAt) : 'now'}`;
          const left = x(a.startedAt);
          const width = Math.max(2, x(a.endedAt) - left);
          return (
            <g role="img" aria-label={said}>
              <title>{said}</title>
              <rect class="allocation" x={left} y={lane * LANE + 4} width={width} height={LANE - 10} />
              {width > 90 && (
                <text x={left + 4} y={lane * LANE + 18} class="allocation-label">
                  {a.categories}
                </text>
              )}
              {a.relabels.map((r) => {
                const what = `${r.action} of ${r.path} at ${when(r.at)}${r.error ? `: failed, ${r.error}` : ''}`;
                return (
                  <g role="img" aria-label={what}>
                    <title>{what}</title>
                    <rect
                      class={r.error ? 'relabel relabel-failed' : 'relabel'}
                      x={x(r.at) - 1.5}
                      y={lane * LANE + 1}
                      width={3}
                      height={LANE - 4}
                    />
                  </g>
                );
              })}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {when(new Date(start).toISOString())} to {when(new Date(end).toISOString())}: {allocations.length} allocation
        {allocations.length === 1 ? '' : 's'} on {hosts.length} host{hosts.length === 1 ? '' : 's'}; ticks are relabels
        {failed > 0 ? `, ${failed} failed (red)` : ''}.
      </figcaption>
    </figure>
  );
}
