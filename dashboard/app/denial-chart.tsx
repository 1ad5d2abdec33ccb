/**
 * Denials over time by kind: one stacked bar per bucket of the API's histogram
 * (`/v1/denials/histogram`), drawn as SVG (no chart library: a few dozen bars). Each bar
 * is a link that narrows the view to its bucket (its time range goes into the URL), and
 * says its counts to screen readers and on hover.
 */

import { DENIAL_KINDS } from '../../core/denial-kind.js';
import { when } from './parts.js';

export interface Histogram {
  from: string;
  to: string;
  bucketMs: number;
  counts: Record<string, number[]>;
  total: number;
}

const WIDTH = 960;
const HEIGHT = 160;

export function DenialChart(props: {
  histogram: Histogram;
  label: string;
  hrefFor?: (from: string, to: string) => string;
}) {
  const h = props.histogram;
  const kinds = DENIAL_KINDS.filter((k) => h.counts[k]);
  const buckets = Math.max(0, ...kinds.map((k) => h.counts[k]?.length ?? 0));
  const totals = Array.from({ length: buckets }, (_, i) => kinds.reduce((n, k) => n + (h.counts[k]?.[i] ?? 0), 0));
  const peak = Math.max(1, ...totals);
  const slot = buckets > 0 ? WIDTH / buckets : WIDTH;
  const start = Date.parse(h.from);
  const bucketTimes = (i: number) => [
    new Date(start + i * h.bucketMs).toISOString(),
    new Date(start + (i + 1) * h.bucketMs).toISOString(),
  ];
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="group" aria-label={props.label}>
        {totals.map((total, i) => {
          if (total === 0) return null;
          const [from, to] = bucketTimes(i) as [string, string];
          let y = HEIGHT;
          const parts = kinds.map((k) => {
            const n = h.counts[k]?.[i] ?? 0;
            const height = (n / peak) * (HEIGHT - 4);
            y -= height;
            return n === 0 ? null : (
              <rect class={`bar bar-${k}`} x={i * slot + 1} y={y} width={Math.max(1, slot - 2)} height={height} />
            );
          });
          const said = `${when(from)} to ${when(to)}: ${kinds
            .filter((k) => (h.counts[k]?.[i] ?? 0) > 0)
            .map((k) => `${h.counts[k]?.[i]} ${k}`)
            .join(', ')}`;
          return props.hrefFor ? (
            <a href={props.hrefFor(from, to)} aria-label={said}>
              <title>{said}</title>
              {parts}
            </a>
          ) : (
            <g role="img" aria-label={said}>
              <title>{said}</title>
              {parts}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {h.total} denials from {when(h.from)} to {when(h.to)}, {Math.round(h.bucketMs / 60_000)} minutes a bar
        {props.hrefFor && ' (a bar narrows the table to its time)'}:{' '}
        {kinds.map((k) => (
          <span class="legend">
            <span class={`swatch bar-${k}`} aria-hidden="true" /> {k} {h.counts[k]?.reduce((a, b) => a + b, 0)}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
