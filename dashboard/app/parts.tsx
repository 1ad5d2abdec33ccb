/** Pieces every view uses: the answer-or-why wrapper, the token form, the denial table. */

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, type Denial, saveToken, savedToken } from './api.js';
import { href } from './route.js';
import type { Loaded } from './use-api.js';

export function Show<T>(props: { loaded: Loaded<T>; what: string; children: (value: T) => ComponentChildren }) {
  const { loaded } = props;
  if (loaded.state === 'loading')
    return (
      <p class="quiet" aria-live="polite">
        Loading {props.what}…
      </p>
    );
  if (loaded.state === 'error') {
    const e = loaded.error;
    // The page shows the token form once, in place of the view (main.tsx).
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return null;
    return (
      <p class="problem" role="alert">
        Could not load {props.what}: {e.message}
      </p>
    );
  }
  return <>{props.children(loaded.value)}</>;
}

/** Asked when the API wants a reader token; kept for this browser session only. */
export function TokenForm(props: { problem: string }) {
  const [token, setToken] = useState('');
  const had = savedToken() !== null;
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        saveToken(token.trim() || null);
        location.reload();
      }}
    >
      <p role="alert" class="problem">
        {had
          ? `The API refused the token this browser session holds (${props.problem}). Enter another.`
          : `This API needs a reader token (${props.problem}).`}
      </p>
      <label>
        Reader token{' '}
        <input
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        />
      </label>{' '}
      <button type="submit">Use this token</button>
      <p class="quiet">
        Kept in this browser tab's session storage until the tab closes. On the host,{' '}
        <code>svirt-audit token create --role reader</code> makes one.
      </p>
    </form>
  );
}

export function vmLink(vm: { name: string } | null, fallback: string | null) {
  if (vm) return <a href={href(['vms', vm.name])}>{vm.name}</a>;
  return <span class="quiet">{fallback ?? 'unknown'}</span>;
}

export function when(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function DenialTable(props: { denials: Denial[]; caption: string }) {
  if (props.denials.length === 0) return <p class="quiet">No denials.</p>;
  return (
    <table>
      <caption>{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Kind</th>
          <th scope="col">VM</th>
          <th scope="col">Denied</th>
          <th scope="col">Target</th>
          <th scope="col">Target VM</th>
        </tr>
      </thead>
      <tbody>
        {props.denials.map((d) => (
          <tr key={d.id}>
            <td>
              <a href={href(['denials', String(d.id)])}>{when(d.time)}</a>
            </td>
            <td>
              <span class={`kind kind-${d.kind}`}>{d.kind}</span>
              {d.permissive && <span class="quiet"> (permissive)</span>}
            </td>
            <td>{vmLink(d.source.vm, d.source.context)}</td>
            <td>
              {d.perms.join(' ')} {d.tclass}
            </td>
            <td class="path">{d.target.path ?? d.target.name ?? d.target.context}</td>
            <td>{d.target.vm ? vmLink(d.target.vm, null) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
