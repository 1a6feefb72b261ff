// What the virtual printer says about its condition, byte for byte: DLE EOT n answers,
// Automatic Status Back frames and the GS r answers, derived from the bit tables in
// docs/escpos.md. Kept apart from the device so each byte can be checked
// against the reference on its own.

export const FAULTS = [
  'paper-out',
  'near-end',
  'cover-open',
  'cutter-error',
  'mechanical-error',
  'overheat',
  'unrecoverable-error',
] as const;

/** A condition of the printer that can be switched on and off (from the CLI, HTTP or tests). */
export type Fault = (typeof FAULTS)[number];

export interface PrinterCondition {
  readonly faults: ReadonlySet<Fault>;
  /** Drawer kick-out connector pin 3 (the drawer sensor). */
  readonly drawerPin3High: boolean;
}

export function isFault(s: string): s is Fault {
  return (FAULTS as readonly string[]).includes(s);
}

/** Faults that stop printing; paper near end does not. */
export function isOnline(faults: ReadonlySet<Fault>): boolean {
  for (const f of faults) if (f !== 'near-end') return false;
  return true;
}

/** Errors cleared by DLE ENQ 1/2 ("recoverable"); they also mean "waiting for online recovery". */
export function hasRecoverableError(faults: ReadonlySet<Fault>): boolean {
  return faults.has('mechanical-error') || faults.has('cutter-error');
}

const hasError = (f: ReadonlySet<Fault>): boolean =>
  hasRecoverableError(f) || f.has('unrecoverable-error') || f.has('overheat');
/** The near-end sensor also sees no paper once the roll is empty. */
const nearEnd = (f: ReadonlySet<Fault>): boolean => f.has('near-end') || f.has('paper-out');

const bit = (on: boolean, mask: number): number => (on ? mask : 0);

/** The one-byte answer to DLE EOT n (`0xx1xx10`): all-clear is 0x12 for every n. */
export function realtimeStatusByte(n: 1 | 2 | 3 | 4, c: PrinterCondition): number {
  const f = c.faults;
  switch (n) {
    case 1:
      return (
        0x12 | bit(c.drawerPin3High, 0x04) | bit(!isOnline(f), 0x08) | bit(hasRecoverableError(f), 0x20) // waiting for online recovery (DLE ENQ)
      );
    case 2:
      return 0x12 | bit(f.has('cover-open'), 0x04) | bit(f.has('paper-out'), 0x20) | bit(hasError(f), 0x40);
    case 3:
      return (
        0x12 |
        bit(f.has('mechanical-error'), 0x04) |
        bit(f.has('cutter-error'), 0x08) |
        bit(f.has('unrecoverable-error'), 0x20) |
        bit(f.has('overheat'), 0x40)
      );
    case 4:
      return 0x12 | bit(nearEnd(f), 0x0c) | bit(f.has('paper-out'), 0x60);
  }
}

/** The 4-byte Automatic Status Back frame; all-clear is `10 00 00 00`. */
export function asbFrame(c: PrinterCondition): [number, number, number, number] {
  const f = c.faults;
  return [
    0x10 | bit(c.drawerPin3High, 0x04) | bit(!isOnline(f), 0x08) | bit(f.has('cover-open'), 0x20),
    bit(hasRecoverableError(f), 0x01) |
      bit(f.has('mechanical-error'), 0x04) |
      bit(f.has('cutter-error'), 0x08) |
      bit(f.has('unrecoverable-error'), 0x20) |
      bit(f.has('overheat'), 0x40),
    bit(nearEnd(f), 0x03) | bit(f.has('paper-out'), 0x0c),
    0x00,
  ];
}

/** Which frame bits each GS a mask bit watches: a frame is sent when a watched bit changes. */
const ASB_WATCHED: ReadonlyArray<[mask: number, bits: [number, number, number, number]]> = [
  [0x01, [0x04, 0, 0, 0]], // drawer
  [0x02, [0x28, 0x01, 0, 0]], // online/offline, cover, waiting for recovery
  [0x04, [0, 0x6c, 0, 0]], // errors
  [0x08, [0, 0, 0x0f, 0]], // roll paper sensors
  [0x40, [0x40, 0x02, 0, 0]], // panel switch
];

/** Whether going from frame `a` to `b` must be reported under GS a `mask`. */
export function asbChanged(mask: number, a: readonly number[], b: readonly number[]): boolean {
  for (const [m, bits] of ASB_WATCHED) {
    if ((mask & m) === 0) continue;
    if (bits.some((watched, i) => (((a[i] ?? 0) ^ (b[i] ?? 0)) & watched) !== 0)) return true;
  }
  return false;
}

/** GS r 1 answer: 0x03 paper near end, 0x0C paper end. */
export function paperSensorByte(c: PrinterCondition): number {
  return bit(nearEnd(c.faults), 0x03) | bit(c.faults.has('paper-out'), 0x0c);
}

/** GS r 2 answer: bit 0 is drawer kick-out connector pin 3. */
export function drawerSensorByte(c: PrinterCondition): number {
  return bit(c.drawerPin3High, 0x01);
}

/** USB printer class GET_PORT_STATUS byte: 0x20 paper empty, 0x10 selected, 0x08 no error. */
export function portStatusByte(c: PrinterCondition): number {
  const f = c.faults;
  return (
    bit(f.has('paper-out'), 0x20) | bit(isOnline(f), 0x10) | bit(!hasError(f) && !f.has('cover-open'), 0x08)
  );
}
