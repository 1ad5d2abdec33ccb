/**
 * The dashboard's one way to the API: same origin, the reader token (if any) from this
 * browser session, JSON in, a typed error out.
 */

const TOKEN_KEY = 'svirt-audit-token';

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** An answer other than 200: its status and the API's own message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const authListeners = new Set<(problem: string) => void>();

/** Called with the API's message whenever it refuses this session's token (or wants one). */
export function onAuthProblem(listener: (problem: string) => void): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

/** The headers every request carries: the session's token, if any. */
export function authHeaders(): Record<string, string> {
  const token = savedToken();
  return token === null ? {} : { authorization: `Bearer ${token}` };
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json', ...authHeaders() } });
  const body = (await response.json().catch(() => null)) as { error?: { message?: string; hint?: string } } | null;
  if (!response.ok) {
    const error = body?.error;
    const said = error?.message ? `${error.message}${error.hint ? ` (${error.hint})` : ''}` : response.statusText;
    if (response.status === 401 || response.status === 403) for (const listener of authListeners) listener(said);
    throw new ApiError(response.status, said);
  }
  return body as T;
}

export interface VmRef {
  uuid: string;
  name: string;
}

export interface Denial {
  id: number;
  time: string;
  host: string;
  model: 'selinux' | 'apparmor';
  kind: string;
  permissive: boolean;
  perms: string[];
  tclass: string | null;
  source: { context: string | null; comm: string | null; pid: number | null; vm: VmRef | null };
  target: { context: string | null; path: string | null; name: string | null; vm: VmRef | null };
}

export interface DenialPage {
  items: Denial[];
  next: string | null;
}

export interface Allocation {
  uuid: string;
  name: string;
  host: string;
  model: string;
  label: string | null;
  startedAt: string;
  endedAt: string | null;
  source?: string;
}

export interface Vm {
  uuid: string;
  name: string;
  hosts: string[];
  allocations: number;
  firstSeen: string;
  lastSeen: string;
  running: Allocation | null;
}

export interface Explained {
  denial: Denial;
  raw: string[];
  attribution: { source: Allocation | null; target: Allocation | null; targetFormerHolder: Allocation | null };
  explanation: { cause: string; fix: string[]; note: string | null };
}
