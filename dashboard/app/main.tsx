/** The dashboard: one page, served by `serve` at `/`, reading the same API (`/v1`) as the CLI's users. */

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { onAuthProblem } from './api.js';
import { DenialView } from './denial.js';
import { Overview } from './overview.js';
import { TokenForm } from './parts.js';
import { href, useRoute } from './route.js';
import { Vm } from './vm.js';
import { Vms } from './vms.js';

function App() {
  const route = useRoute();
  const [authProblem, setAuthProblem] = useState<string | null>(null);
  useEffect(() => onAuthProblem(setAuthProblem), []);
  const [top, second] = route.parts;
  let view;
  if (top === 'vms' && second) view = <Vm name={second} route={route} />;
  else if (top === 'vms') view = <Vms route={route} />;
  else if (top === 'denials' && second) view = <DenialView id={second} />;
  else view = <Overview />;
  return (
    <>
      <header>
        <nav aria-label="Views">
          <a href={href([])} class="brand">
            svirt-audit
          </a>
          <a href={href([])} aria-current={top === undefined ? 'page' : undefined}>
            Overview
          </a>
          <a href={href(['vms'])} aria-current={top === 'vms' ? 'page' : undefined}>
            VMs
          </a>
        </nav>
      </header>
      <main>{authProblem === null ? view : <TokenForm problem={authProblem} />}</main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
