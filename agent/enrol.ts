// Enrolment: a field tech trades the one-time code HQ gave them (`relay stores add`) for the
// store's agent credentials, and gets an agent config with the printers of this PC in roles.
// The code works once, so everything that can go wrong locally is checked before it is spent.
import { EnrolResponse } from '../protocol/api.js';
import { validator } from '../protocol/validate.js';
import type { AgentConfig, AgentPrinterConfig } from './config.js';
import { type RelayHttpOptions, relayRequest } from './relay-http.js';

const parseEnrolResponse = validator(EnrolResponse, 'enrolment answer from the relay');

export class EnrolmentRefused extends Error {}

/** POST /v1/enrol. A refused code is an EnrolmentRefused that says what to do next. */
export async function redeemEnrolmentCode(
  relay: URL,
  code: string,
  opts: RelayHttpOptions = {},
): Promise<EnrolResponse> {
  const res = await relayRequest(new URL('/v1/enrol', relay), { method: 'POST', json: { code } }, opts);
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    throw new Error(
      `${relay.origin} answered ${res.status} with no JSON: is this the printrelay relay's API address?`,
    );
  }
  if (res.status === 200) return parseEnrolResponse(body);
  const said =
    typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : '';
  if (res.status === 404 || res.status === 400) {
    throw new EnrolmentRefused(
      `the relay refused enrolment code ${code}${said ? ` (${said})` : ''}. A code works once and ` +
        'expires after 7 days: check it for typing errors, or ask HQ for a new one ' +
        '(`printrelay relay stores add`, or the dashboard).',
    );
  }
  if (res.status === 429) {
    const wait = res.headers['retry-after'];
    throw new EnrolmentRefused(`too many enrolment attempts: try again${wait ? ` in ${wait} s` : ' later'}`);
  }
  throw new Error(`enrolment failed: ${relay.origin} answered ${res.status}${said ? `: ${said}` : ''}`);
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

/**
 * The relay address the agent will use: the first encrypted one the relay offers; a plain one
 * only for a relay on this machine or when the tech allowed it (agent passwords and tickets
 * with customers' phone numbers would cross the internet in clear).
 */
export function chooseRelayUrl(offered: readonly string[], allowPlaintext: boolean): string {
  const tls = offered.find((u) => /^(mqtts|wss):/.test(u));
  if (tls) return tls;
  const plain = offered.find((u) => LOOPBACK.test(new URL(u).hostname) || allowPlaintext);
  if (plain) return plain;
  if (offered.length === 0) throw new Error('the relay offered no MQTT listener to connect to');
  throw new Error(
    `the relay offers only unencrypted connections (${offered.join(', ')}): ask HQ to start it with ` +
      '--tls-cert/--tls-key, or pass --allow-plaintext if this network is trusted',
  );
}

/** A printer found on this PC (by discovery or named on the command line). */
export interface FoundPrinter {
  uri: string;
  /** A shipped profile that fits it, when it could be told. */
  suggestedProfile: string | null;
}

/** Chinese 80 mm clones are what most stores have when the model cannot be told. */
export const FALLBACK_PROFILE = 'xprinter-80';

/**
 * Proposes roles: the first printer takes receipts at the counter, the second kitchen
 * tickets, and each is the other's backup. One printer takes both. More printers are added
 * without a role, for HQ to send to by id.
 */
export function proposePrinters(found: readonly FoundPrinter[]): AgentPrinterConfig[] {
  const printers = found.map((p, i): AgentPrinterConfig => {
    const profile = p.suggestedProfile ?? FALLBACK_PROFILE;
    if (i === 0) {
      return {
        id: 'counter',
        name: '收银台 Counter',
        uri: p.uri,
        profile,
        roles: found.length === 1 ? ['receipt', 'kitchen'] : ['receipt'],
      };
    }
    if (i === 1) return { id: 'kitchen', name: '后厨 Kitchen', uri: p.uri, profile, roles: ['kitchen'] };
    return {
      id: `printer-${i + 1}`,
      name: `打印机 ${i + 1} Printer ${i + 1}`,
      uri: p.uri,
      profile,
      roles: [],
    };
  });
  const [counter, kitchen] = printers;
  if (counter && kitchen) {
    counter.backup = kitchen.id;
    kitchen.backup = counter.id;
  }
  return printers;
}

/** The config an enrolled agent runs on. */
export function enrolledConfig(
  credentials: EnrolResponse,
  relayUrl: string,
  printers: AgentPrinterConfig[],
  dataDir: string,
): AgentConfig {
  return {
    storeId: credentials.storeId,
    relay: { url: relayUrl, password: credentials.password, clientId: credentials.clientId },
    dataDir,
    printers,
  };
}
