/**
 * A VM's denials grouped as `svirt-audit summary` groups them (kind, what was denied on
 * which target), each with the explanation and the fix `explain` gives for its example.
 */

import type { Explained } from './api.js';
import { Show, vmLink, when } from './parts.js';
import { href } from './route.js';
import { useApi } from './use-api.js';

interface Group {
  kind: string;
  tclass: string | null;
  perms: string;
  target: string;
  targetVm: string | null;
  count: number;
  permissive: number;
  firstSeen: string;
  lastSeen: string;
  exampleId: number;
}

/** Groups shown with their explanation (each asks for its example's); the rest are counted. */
const SHOWN = 20;

export function VmFindings(props: { name: string; since?: string | undefined; until?: string | undefined }) {
  const window = new URLSearchParams();
  if (props.since) window.set('since', props.since);
  if (props.until) window.set('until', props.until);
  const summary = useApi<{ total: number; groups: Group[] }>(
    `/v1/vms/${encodeURIComponent(props.name)}/summary${window.size > 0 ? `?${window}` : ''}`,
  );
  return (
    <section aria-labelledby="h-findings">
      <h2 id="h-findings">Findings</h2>
      <Show loaded={summary} what="its findings">
        {(s) =>
          s.groups.length === 0 ? (
            <p class="quiet">No denials.</p>
          ) : (
            <>
              <ol class="findings">
                {s.groups.slice(0, SHOWN).map((g) => (
                  <FindingGroup group={g} />
                ))}
              </ol>
              {s.groups.length > SHOWN && (
                <p class="quiet">
                  {s.groups.length - SHOWN} more groups: <code>svirt-audit summary --vm {props.name}</code>
                </p>
              )}
            </>
          )
        }
      </Show>
    </section>
  );
}

function FindingGroup(props: { group: Group }) {
  const g = props.group;
  const explained = useApi<Explained>(`/v1/denials/${g.exampleId}`);
  return (
    <li>
      <p>
        <span class={`kind kind-${g.kind}`}>{g.kind}</span>: {g.count} × {g.perms} {g.tclass} on{' '}
        {g.targetVm ? <>VM {vmLink({ name: g.targetVm }, null)}</> : <span class="path">{g.target}</span>}
        {g.permissive > 0 && <span class="quiet"> ({g.permissive} permissive)</span>}, {when(g.firstSeen)} to{' '}
        {when(g.lastSeen)} · <a href={href(['denials', String(g.exampleId)])}>an example</a>
      </p>
      <Show loaded={explained} what="its explanation">
        {(x) => (
          <>
            <p>{x.explanation.cause}</p>
            <ul>
              {x.explanation.fix.map((f) => (
                <li>{f}</li>
              ))}
            </ul>
          </>
        )}
      </Show>
    </li>
  );
}
