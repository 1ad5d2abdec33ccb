/** Every VM svirt-audit knows: searchable by name, sortable; the search and sort live in the URL. */

import { DENIAL_KINDS } from '../../core/denial-kind.js';
import type { Vm } from './api.js';
import { Show, when } from './parts.js';
import { href, navigate, type Route } from './route.js';
import { useApi } from './use-api.js';

const SORTS = { name: 'Name', lastSeen: 'Last seen', allocations: 'Allocations' } as const;
type Sort = keyof typeof SORTS;
const PAGE = 50;

export function Vms(props: { route: Route }) {
  const vms = useApi<Vm[]>('/v1/vms');
  const q = props.route.params.get('q') ?? '';
  const sort = (props.route.params.get('sort') ?? 'name') as Sort;
  const page = Math.max(1, Number(props.route.params.get('page')) || 1);
  const go = (next: { q?: string; sort?: string; page?: string }) =>
    navigate(href(['vms'], { q, sort, page: undefined, ...next }));
  return (
    <>
      <h1>VMs</h1>
      <div class="controls">
        <label>
          Search by name{' '}
          <input type="search" value={q} onInput={(e) => go({ q: (e.target as HTMLInputElement).value })} />
        </label>
        <label>
          Sort by{' '}
          <select value={sort} onChange={(e) => go({ sort: (e.target as HTMLSelectElement).value })}>
            {Object.entries(SORTS).map(([k, label]) => (
              <option value={k}>{label}</option>
            ))}
          </select>
        </label>
      </div>
      <Show loaded={vms} what="the VMs">
        {(list) => {
          const shown = list
            .filter((v) => v.name.toLowerCase().includes(q.toLowerCase()))
            .sort((a, b) =>
              sort === 'lastSeen'
                ? b.lastSeen.localeCompare(a.lastSeen)
                : sort === 'allocations'
                  ? b.allocations - a.allocations
                  : a.name.localeCompare(b.name),
            );
          // A page at a time: each row asks for its VM's summary.
          const pages = Math.max(1, Math.ceil(shown.length / PAGE));
          const rows = shown.slice((page - 1) * PAGE, page * PAGE);
          return (
            <>
              <table>
                <caption>
                  {shown.length} of {list.length} VMs{pages > 1 && `, page ${page} of ${pages}`}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Hosts</th>
                    <th scope="col">Allocations</th>
                    <th scope="col">Denials by kind</th>
                    <th scope="col">Running as</th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((v) => (
                    <tr key={v.uuid}>
                      <td>
                        <a href={href(['vms', v.name])}>{v.name}</a>
                      </td>
                      <td>{v.hosts.join(', ')}</td>
                      <td>{v.allocations}</td>
                      <td>
                        <DenialCounts name={v.name} />
                      </td>
                      <td class="path">{v.running?.label ?? ''}</td>
                      <td>{when(v.lastSeen)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p>
                {page > 1 && <a href={href(['vms'], { q, sort, page: String(page - 1) })}>Previous page</a>}{' '}
                {page < pages && <a href={href(['vms'], { q, sort, page: String(page + 1) })}>Next page</a>}
              </p>
            </>
          );
        }}
      </Show>
    </>
  );
}

interface Summary {
  total: number;
  groups: { kind: string; count: number }[];
}

/** A VM's denials by kind, from its summary (the API caches it per VM), asked for as the row shows. */
function DenialCounts(props: { name: string }) {
  const summary = useApi<Summary>(`/v1/vms/${encodeURIComponent(props.name)}/summary`);
  if (summary.state !== 'ok') return <span class="quiet">{summary.state === 'loading' ? '…' : '?'}</span>;
  const byKind = new Map<string, number>();
  for (const g of summary.value.groups) byKind.set(g.kind, (byKind.get(g.kind) ?? 0) + g.count);
  if (byKind.size === 0) return <span class="quiet">none</span>;
  return (
    <>
      {DENIAL_KINDS.filter((k) => byKind.has(k)).map((k) => (
        <span class={`count kind-${k}`}>
          {byKind.get(k)} {k}
        </span>
      ))}
    </>
  );
}
