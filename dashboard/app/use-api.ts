/** Loading an API answer in a view: the answer, or why not, refetched when the path changes. */

import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson } from './api.js';

export type Loaded<T> = { state: 'loading' } | { state: 'ok'; value: T } | { state: 'error'; error: ApiError | Error };

export function useApi<T>(path: string | null): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    if (path === null) return;
    let current = true;
    setLoaded({ state: 'loading' });
    getJson<T>(path).then(
      (value) => current && setLoaded({ state: 'ok', value }),
      (error: Error) => current && setLoaded({ state: 'error', error }),
    );
    return () => {
      current = false;
    };
  }, [path]);
  return loaded;
}
