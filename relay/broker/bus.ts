// The relay's view of MQTT: publish to a store's downlink, receive every store's uplink.
// The embedded aedes broker implements it today; an external broker cluster (the relay as
// one more client) can implement it later without changes elsewhere.
import type { UpChannel } from '../../protocol/topics.js';

export interface UplinkMessage {
  storeId: string;
  channel: UpChannel;
  payload: Buffer;
}

export interface MessageBus {
  /** QoS 1, not retained. Resolves when the broker has taken the message. */
  publish(topic: string, payload: string): Promise<void>;
  /** Called for every message an agent publishes to its uplink (already authorised). */
  onUplink(handler: (message: UplinkMessage) => void): void;
}
