// The agent's Prometheus metrics (GET /metrics on its local API, docs/metrics.md), made from
// the same view as GET /v1/status at each scrape. prom-client is loaded on the first scrape
// only: most stores are never scraped, and an idle agent should not carry it.
import type { AgentView } from './views.js';

export async function agentMetrics(view: AgentView): Promise<{ type: string; body: string }> {
  const { Counter, Gauge, Registry } = await import('prom-client');
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string, value: number) =>
    new Gauge({ name, help, registers }).set(value);
  new Gauge({
    name: 'printrelay_agent_info',
    help: 'The store this agent serves and its version (always 1).',
    labelNames: ['store', 'version'],
    registers,
  }).set({ store: view.storeId, version: view.agentVersion }, 1);
  gauge('printrelay_agent_uptime_seconds', 'Since the agent started.', view.uptimeSeconds);
  gauge(
    'printrelay_agent_relay_connected',
    '1 while the link to the relay is up.',
    view.relay.connected ? 1 : 0,
  );
  gauge('printrelay_agent_outbox_depth', 'Events not yet acknowledged by the relay.', view.outboxDepth);
  gauge('printrelay_agent_held_jobs', 'Jobs past their expiry waiting for a person.', view.heldJobs);
  gauge(
    'printrelay_agent_printing_paused',
    '1 while a person has paused printing.',
    view.printingPaused ? 1 : 0,
  );

  const printerGauge = (name: string, help: string, labelNames: string[] = ['printer']) =>
    new Gauge({ name, help, labelNames, registers });
  const ready = printerGauge('printrelay_agent_printer_ready', '1 while the printer can print.');
  const queue = printerGauge(
    'printrelay_agent_printer_queue_depth',
    'Jobs queued or printing on the printer.',
  );
  const notReady = printerGauge(
    'printrelay_agent_printer_not_ready',
    'Why the printer cannot print (1 per reason): paper-out, cover-open, disconnected, ...',
    ['printer', 'reason'],
  );
  const printed = new Counter({
    name: 'printrelay_agent_printer_printed_jobs_total',
    help: 'Jobs printed on the printer since the agent was installed.',
    labelNames: ['printer'],
    registers,
  });
  for (const p of view.printers) {
    ready.set({ printer: p.id }, p.ready ? 1 : 0);
    queue.set({ printer: p.id }, p.queueDepth);
    for (const reason of p.notReadyReasons) notReady.set({ printer: p.id, reason }, 1);
    printed.inc({ printer: p.id }, p.printedJobs);
  }
  return { type: registry.contentType, body: await registry.metrics() };
}
