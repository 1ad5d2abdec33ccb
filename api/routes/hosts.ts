/**
 * GET /v1/hosts on a host's serve: every host the store holds records of (this one, and
 * any whose records were forwarded here), with its newest record and the enforcing state
 * its log last reported; for this host also the state now and the collector's lag. The
 * fleet's central server answers the same route from what the hosts shipped.
 */

import type { FastifyInstance } from 'fastify';
import { hostConfinement } from '../../allocation/enforcing-gate.js';
import { formatTime } from '../../core/time-spec.js';
import { hostStates } from '../../store/hosts.js';
import type { ApiContext } from '../context.js';

const iso = (ms: number | null) => (ms === null ? null : formatTime(ms));

export async function hostRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  app.get('/v1/hosts', async () => {
    const states = hostStates(ctx.store);
    if (!states.some((h) => h.name === ctx.localHost))
      states.unshift({ name: ctx.localHost, newestRecord: null, enforcing: null, enforcingSince: null });
    return states.map((h) => {
      const here = h.name === ctx.localHost;
      const collector = here ? ctx.collector?.() : undefined;
      return {
        name: h.name,
        newestRecord: iso(h.newestRecord),
        enforcing: h.enforcing,
        enforcingSince: iso(h.enforcingSince),
        ...(here && {
          now: { selinux: hostConfinement('selinux'), apparmor: hostConfinement('apparmor') },
          collector: collector ? { following: collector.path, lagBytes: collector.lagBytes } : null,
        }),
      };
    });
  });
}
