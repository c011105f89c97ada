// Which server leads (GET /v1/cluster), and the followers' heartbeat relay into the leader
// (POST /v1/internal/contacts, see ../peers.ts).

import type { ClusterView } from "../../api/types.ts";
import { tiffinVersion } from "../../api/version.ts";
import { z } from "zod";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { decodeOne, Kinds } from "../kinds.ts";

const contactsBody = z.object({ contacts: z.array(z.tuple([z.string(), z.number()])) });

/** Registers the cluster routes. */
export function clusterRoutes(r: Router, ctx: ServerContext): void {
  r.add("GET", "/v1/cluster", "admin", async ({ res }) => {
    // The mirror knows whether the key exists (its modRevision), so a quiet cluster costs no read.
    const alertKey = Kinds.remediationAlert.key();
    const alert = ctx.mirror.modRevision(alertKey) > 0 ? decodeOne(Kinds.remediationAlert, await ctx.store.get(alertKey), ctx.log) : null;
    const e = ctx.cluster.election;
    const l = e.leader();
    const body: ClusterView = {
      self: { id: ctx.cluster.id, url: ctx.cluster.url, leader: e.isLeader(), terms: e.terms() },
      leader: l ? { id: l.id, url: l.url, since: l.since } : null,
      revision: ctx.mirror.revision,
      version: tiffinVersion(),
      ...(alert !== null ? { remediationAlert: alert } : {}),
    };
    sendJson(res, 200, body);
  });

  r.add("POST", "/v1/internal/contacts", "admin", async ({ req, res }) => {
    const body = await readJsonObject(req, "{\"contacts\": [[hostId, ageMs], ...]}");
    const { contacts } = parseBody(contactsBody, body, "contacts must be [hostId, ageMs] pairs", "sent by other Tiffin servers only");
    // A follower may still think we lead after we stepped down: the contacts are facts either way.
    ctx.liveness.noteContacts(contacts);
    sendJson(res, 200, { ok: true });
  });
}
