// The test page a person prints to see that a printer works, Chinese included: from the
// store page, the tray app, HQ, or `printrelay doctor --test-print`.
import type { Ticket } from '../protocol/ticket.js';

export function testTicket(
  storeId: string,
  printer: { id: string; name?: string | undefined },
  profile: string,
): Ticket {
  const time = new Date().toLocaleString('zh-CN', { hour12: false });
  return {
    blocks: [
      { type: 'text', text: '测试页 TEST PRINT', align: 'center', bold: true, width: 2, height: 2 },
      { type: 'text', text: `门店 Store: ${storeId}` },
      { type: 'text', text: `打印机 Printer: ${printer.id}${printer.name ? ` (${printer.name})` : ''}` },
      { type: 'text', text: `型号 Profile: ${profile}` },
      { type: 'text', text: `时间 Time: ${time}` },
      { type: 'text', text: '中文打印正常：宫保鸡丁、麻婆豆腐' },
      { type: 'cut' },
    ],
  };
}
