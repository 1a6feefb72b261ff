// Caps the size of incoming MQTT packets. aedes buffers a whole packet before looking at
// it, and a packet may declare up to 256 MB, even before CONNECT is authenticated: without
// this cap one unauthenticated socket could exhaust the relay's memory.
import { Duplex, Transform } from 'node:stream';

/** Passes MQTT bytes through, failing as soon as a fixed header declares more than `maxBytes`. */
export function packetSizeGuard(maxBytes: number): Transform {
  let headerBytes = 0; // bytes of the current fixed header seen (0: a packet type byte comes next)
  let length = 0;
  let multiplier = 1;
  let remaining = 0; // body bytes of the current packet still to pass
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let i = 0;
      while (i < chunk.length) {
        if (remaining > 0) {
          const n = Math.min(remaining, chunk.length - i);
          remaining -= n;
          i += n;
          continue;
        }
        const byte = chunk[i++] as number;
        if (headerBytes === 0) {
          headerBytes = 1;
          length = 0;
          multiplier = 1;
          continue;
        }
        headerBytes++;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if (byte & 0x80) {
          if (headerBytes === 5) return done(new Error('malformed MQTT packet length'));
          continue;
        }
        if (length > maxBytes) {
          return done(new Error(`MQTT packet of ${length} bytes is over the ${maxBytes}-byte limit`));
        }
        remaining = length;
        headerBytes = 0;
      }
      done(null, chunk);
    },
  });
}

/** The connection as aedes should see it: reads go through the guard, writes go straight out. */
export function guarded(conn: Duplex, maxBytes: number): Duplex {
  const guard = packetSizeGuard(maxBytes);
  guard.on('error', () => conn.destroy());
  return Duplex.from({ readable: conn.pipe(guard), writable: conn });
}
