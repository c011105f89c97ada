// `tiffin services`: every service (a job naming ports, or each of a job's named `services`) and how many serving endpoints it has
// (`GET /v1/services`), as `kubectl get services` or `consul catalog services`.
import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import { AllNamespaces, DefaultNamespace, jobId } from "../../model/index.ts";
import type { ServiceSummary } from "../../model/index.ts";
import type { CliContext } from "../command.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { renderTable } from "../table.ts";

/** Every service. */
export function servicesHandler(client: ApiClient): Promise<ServiceSummary[]> {
  return client.services();
}

/** A table of services: name, endpoints, ports, and the job offering each when some job names its
 * services (`services` in its spec); the DNS name in wide. */
export function renderServices(list: ServiceSummary[], wide = false, namespaces = false): string {
  if (list.length === 0) return "no services (a job offers one by naming `ports`)\n";
  const jobs = list.some((s) => s.job !== undefined);
  const ns = (s: ServiceSummary): string => s.namespace ?? DefaultNamespace;
  return renderTable(
    [...(namespaces ? ["namespace"] : []), "service", "endpoints", "ports", ...(jobs ? ["job"] : []), ...(wide ? ["dns"] : [])],
    // A non-default namespace's service is NAME.NS in DNS (model/namespace.ts).
    list.map((s) => [...(namespaces ? [ns(s)] : []), s.name, s.endpoints, s.ports.join(","), ...(jobs ? [s.job ?? s.name] : []), ...(wide ? [`${jobId(ns(s), s.name)}.service.tiffin`] : [])]),
  );
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  outputOption(program.command("services").description("list services (jobs naming ports, and jobs' named services) and how many serving endpoints each has")).action(async (opts: OutputOpts) => {
    const format = outputFormat(opts);
    const client = ctx.client();
    const list = await servicesHandler(client);
    ctx.io.out(renderOutput(format, list, (wide) => renderServices(list, wide, client.namespace === AllNamespaces)));
  });
}
