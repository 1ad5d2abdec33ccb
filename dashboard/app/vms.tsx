/** Every VM svirt-audit knows: searchable by name, sortable; the search and sort live in the URL. */

import type { Vm } from './api.js';
import { Show, when } from './parts.js';
import { href, navigate, type Route } from './route.js';
import { useApi } from './use-api.js';

const SORTS = { name: 'Name', lastSeen: 'Last seen', allocations: 'Allocations' } as const;
type Sort = keyof typeof SORTS;

export function Vms(props: { route: Route }) {
  const vms = useApi<Vm[]>('/v1/vms');
  const q = props.route.params.get('q') ?? '';
  const sort = (props.route.params.get('sort') ?? 'name') as Sort;
  const go = (next: { q?: string; sort?: string }) => navigate(href(['vms'], { q, sort, ...next }));
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
          return (
            <table>
              <caption>
                {shown.length} of {list.length} VMs
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Hosts</th>
                  <th scope="col">Allocations</th>
                  <th scope="col">Running as</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((v) => (
                  <tr key={v.uuid}>
                    <td>
                      <a href={href(['vms', v.name])}>{v.name}</a>
                    </td>
                    <td>{v.hosts.join(', ')}</td>
                    <td>{v.allocations}</td>
                    <td class="path">{v.running?.label ?? ''}</td>
                    <td>{when(v.lastSeen)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Show>
    </>
  );
}
