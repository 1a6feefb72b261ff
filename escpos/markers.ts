// How non-text output is shown in plain-text previews and in the virtual printer's log.
// Shared so that a preview of a ticket and a print-out of its bytes read the same.

export const marker = {
  cut: (mode: 'full' | 'partial') => `[CUT ${mode}]`,
  qr: (data: string) => `[QR ${data}]`,
  barcode: (symbology: string, data: string) => `[BARCODE ${symbology} ${data}]`,
  image: (widthDots: number, heightDots: number) => `[IMAGE ${widthDots}x${heightDots}]`,
  drawer: (pin: number, onMs: number, offMs: number) => `[DRAWER pin ${pin} ${onMs}/${offMs} ms]`,
  beep: (times: number) => `[BEEP x${times}]`,
  raw: (bytes: number) => `[RAW ${bytes} bytes]`,
} as const;
