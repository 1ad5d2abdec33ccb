/**
 * Every view's state lives in the URL's fragment (`#/vms/web1?kind=cross-vm`), so a
 * link pasted into a ticket opens the same view; the server serves one page.
 */

import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** The path segments after `#/`, decoded. */
  parts: string[];
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = hash.split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decoded), params: new URLSearchParams(query) };
}

/** A segment decoded; a malformed one (a link cut or typed by hand) as it is, not a blank page. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function href(parts: string[], params: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') query.set(k, v);
  const q = query.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`;
}

export function navigate(to: string): void {
  location.hash = to.slice(1);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}
