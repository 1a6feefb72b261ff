// The tray icon: a filled circle in the state's colour, drawn in code (no image files to
// ship or keep in step), as raw BGRA pixels for Electron's nativeImage.createFromBitmap.
import type { IconColour } from './tray-state.js';

export const ICON_RGB: Record<IconColour, [number, number, number]> = {
  green: [0x1b, 0x9e, 0x4b],
  amber: [0xf0, 0xa2, 0x02],
  red: [0xd3, 0x2f, 0x2f],
  grey: [0x88, 0x88, 0x88],
};

/** size x size pixels, 4 bytes each (B, G, R, A); the circle's edge is anti-aliased. */
export function iconBitmap(colour: IconColour, size = 32): Buffer {
  const [r, g, b] = ICON_RGB[colour];
  const pixels = Buffer.alloc(size * size * 4);
  const centre = size / 2;
  const radius = size / 2 - 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const distance = Math.hypot(x + 0.5 - centre, y + 0.5 - centre);
      const coverage = Math.max(0, Math.min(1, radius - distance + 0.5));
      const i = (y * size + x) * 4;
      pixels[i] = b;
      pixels[i + 1] = g;
      pixels[i + 2] = r;
      pixels[i + 3] = Math.round(coverage * 255);
    }
  }
  return pixels;
}
