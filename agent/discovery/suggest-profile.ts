// Which shipped printer profile suits a printer, from its GS I answers. The rules are data
// (escpos/profiles/matching.json) beside the profiles they point at.

import { listProfiles } from '../../escpos/profiles/index.js';
import matching from '../../escpos/profiles/matching.json' with { type: 'json' };
import type { PrinterIdentity } from '../printer/identify.js';

interface Rule {
  profile: string;
  maker?: string;
  model?: string;
  fontLanguage?: string;
  twoByteChars?: boolean;
}

const RULES: readonly Rule[] = matching.rules;
const TEXT_FIELDS = ['maker', 'model', 'fontLanguage'] as const;

function matches(rule: Rule, identity: PrinterIdentity): boolean {
  for (const field of TEXT_FIELDS) {
    const pattern = rule[field];
    if (pattern !== undefined && !new RegExp(pattern, 'i').test(identity[field] ?? '')) return false;
  }
  return rule.twoByteChars === undefined || rule.twoByteChars === identity.twoByteChars;
}

/** The profile of the first rule that fits, or null when none does (a person chooses). */
export function suggestProfile(identity: PrinterIdentity): string | null {
  return RULES.find((r) => matches(r, identity))?.profile ?? null;
}

/** Every rule names a shipped profile (checked by the tests, so a renamed profile cannot dangle). */
export function unknownRuleProfiles(): string[] {
  const shipped = new Set(listProfiles().map((p) => p.name));
  return RULES.map((r) => r.profile).filter((p) => !shipped.has(p));
}
