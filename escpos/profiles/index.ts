// The printer profiles shipped with printrelay, one JSON file per model in this folder.
// JSON modules are imported (not read from disk) so that the compiled dist/ build carries
// them along; every profile is validated against protocol/profile.ts before first use.

import { basename } from 'node:path';
import { type PrinterProfile, parsePrinterProfile } from '../../protocol/profile.js';
import { readJsonFile } from '../../shared/json-file.js';
import epsonTmT20Latin from './epson-tm-t20-latin.json' with { type: 'json' };
import epsonTmT88 from './epson-tm-t88.json' with { type: 'json' };
import gprinter58 from './gprinter-58.json' with { type: 'json' };
import xprinter80 from './xprinter-80.json' with { type: 'json' };

const SHIPPED: ReadonlyArray<readonly [file: string, data: unknown]> = [
  ['epson-tm-t88.json', epsonTmT88],
  ['xprinter-80.json', xprinter80],
  ['gprinter-58.json', gprinter58],
  ['epson-tm-t20-latin.json', epsonTmT20Latin],
];

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates profile data from `source` (a file name, for the error message) and returns it
 * frozen: renderers cache per profile object, so a profile never changes after loading.
 */
export function checkProfile(data: unknown, source: string): PrinterProfile {
  let profile: PrinterProfile;
  try {
    profile = parsePrinterProfile(structuredClone(data));
  } catch (err) {
    throw new Error(`${source}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { encoding, codePage } = profile.text;
  const chinese = encoding === 'gb18030' || encoding === 'gbk';
  if (!chinese && codePage === undefined) {
    throw new Error(
      `${source}: invalid printer profile: /text/codePage: is required for encoding ${encoding} (ESC t n)`,
    );
  }
  if (chinese && !profile.text.chineseFont) {
    throw new Error(
      `${source}: invalid printer profile: /text/encoding: ${encoding} needs a printer with a Chinese font`,
    );
  }
  if (chinese && codePage !== undefined) {
    throw new Error(
      `${source}: invalid printer profile: /text/codePage: not used with encoding ${encoding} (Chinese mode)`,
    );
  }
  return deepFreeze(profile);
}

let shipped: Map<string, PrinterProfile> | undefined;
function shippedProfiles(): Map<string, PrinterProfile> {
  if (!shipped) {
    const loaded = new Map<string, PrinterProfile>();
    for (const [file, data] of SHIPPED) {
      const profile = checkProfile(data, `escpos/profiles/${file}`);
      if (`${profile.name}.json` !== file)
        throw new Error(`escpos/profiles/${file}: name must be "${basename(file, '.json')}"`);
      loaded.set(profile.name, profile);
    }
    shipped = loaded;
  }
  return shipped;
}

/** All shipped profiles, in a stable order. */
export function listProfiles(): PrinterProfile[] {
  return [...shippedProfiles().values()];
}

/** A shipped profile by name; the error lists the valid names. */
export function getProfile(name: string): PrinterProfile {
  const profile = shippedProfiles().get(name);
  if (!profile) {
    throw new Error(
      `unknown printer profile "${name}"; valid profiles: ${[...shippedProfiles().keys()].join(', ')}`,
    );
  }
  return profile;
}

/** A profile from a JSON file of one's own (a printer model not shipped yet). */
export function loadProfileFile(path: string): PrinterProfile {
  return readJsonFile(path, 'printer profile', (data) => checkProfile(data, path));
}

/** What a `--profile` option names: a shipped profile, or a path to a .json file. */
export function resolveProfile(nameOrFile: string): PrinterProfile {
  return nameOrFile.toLowerCase().endsWith('.json') ? loadProfileFile(nameOrFile) : getProfile(nameOrFile);
}
