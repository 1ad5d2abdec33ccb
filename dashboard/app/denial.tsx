/** One denial as `explain` tells it: what happened, which VMs, why, the fix, and the kernel's own records. */

import type { Allocation, Explained } from './api.js';
import { Show, vmLink, when } from './parts.js';
import { href } from './route.js';
import { useApi } from './use-api.js';

function holder(a: Allocation | null) {
  if (!a) return <span class="quiet">no VM held it</span>;
  return (
    <>
      <a href={href(['vms', a.name])}>{a.name}</a> ({a.label} on {a.host}, {when(a.startedAt)} to{' '}
      {a.endedAt ? when(a.endedAt) : 'now'})
    </>
  );
}

export function DenialView(props: { id: string }) {
  const explained = useApi<Explained>(`/v1/denials/${encodeURIComponent(props.id)}`);
  return (
    <Show loaded={explained} what={`denial ${props.id}`}>
      {(x) => (
        <>
          <h1>
            Denial {x.denial.id}: <span class={`kind kind-${x.denial.kind}`}>{x.denial.kind}</span>
          </h1>
          <p>
            {when(x.denial.time)} on {x.denial.host}: {vmLink(x.denial.source.vm, x.denial.source.context)} was
            {x.denial.permissive ? ' allowed (permissive) ' : ' denied '}
            {x.denial.perms.join(' ')} on {x.denial.tclass} {x.denial.target.path ?? x.denial.target.name}
          </p>
          <h2>Why</h2>
          <p>{x.explanation.cause}</p>
          {x.explanation.note && <p class="quiet">{x.explanation.note}</p>}
          <h2>Fix</h2>
          <ul>
            {x.explanation.fix.map((f) => (
              <li>{f}</li>
            ))}
          </ul>
          <h2>Attribution</h2>
          <dl>
            <dt>Source</dt>
            <dd>{holder(x.attribution.source)}</dd>
            <dt>Target</dt>
            <dd>{holder(x.attribution.target)}</dd>
            {x.attribution.targetFormerHolder && (
              <>
                <dt>Target's former holder</dt>
                <dd>{holder(x.attribution.targetFormerHolder)}</dd>
              </>
            )}
          </dl>
          <h2>Raw records</h2>
          <pre class="raw" tabindex={0} aria-label="The kernel's audit records of this denial">
            {x.raw.join('\n')}
          </pre>
        </>
      )}
    </Show>
  );
}
